// The gateway endpoint's health samples and metadata come from the status document: the
// same figures `kaa-gateway status` shows, error rates per bus since the previous sample.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "daemon/status/health_report.hpp"

namespace kaa::status {
namespace {

using nlohmann::json;

json document(uint64_t requests_a, uint64_t timeouts_a) {
    return json{
        {"version", "0.9.0"},
        {"generated_ms", 1'800'000'100'000},
        {"started_ms", 1'800'000'000'000},
        {"config", "/etc/kaa-gateway/gateway.yaml"},
        {"uplink",
         {{"connected", true},
          {"connects", 3},
          {"in_flight", 2},
          {"samples_delivered", 900},
          {"samples_rejected", 1}}},
        {"buffer",
         {{"samples", 40},
          {"bytes", 4000},
          {"oldest_ms", 1'800'000'070'000},
          {"dropped_overflow", 5},
          {"lost_unstored", 2}}},
        {"buses",
         json::array(
             {json{{"name", "rs485"}, {"state", "open"}, {"utilisation_measured", 0.25}},
              json{{"name", "tcp"}, {"state", "down"}, {"utilisation_measured", nullptr}}})},
        {"meters",
         json::array(
             {json{{"name", "heat"},
                   {"bus", "rs485"},
                   {"state", "ok"},
                   {"transactions", {{"requests", requests_a}, {"timeouts", timeouts_a}}}},
              json{{"name", "water"},
                   {"bus", "rs485"},
                   {"state", "failing"},
                   {"transactions",
                    {{"requests", 10}, {"exceptions", 1}, {"bad_frames", 1}, {"link_errors", 0}}}},
              json{{"name", "dead"}, {"bus", "tcp"}, {"state", "waiting"}}})}};
}

TEST(HealthReportTest, ASampleCarriesTheStatusFigures) {
    HealthReporter reporter;
    const json s = reporter.sample(document(100, 4));
    EXPECT_EQ(s["uptime_s"], 100);
    EXPECT_EQ(s["connected"], 1);
    EXPECT_EQ(s["reconnects"], 2);
    EXPECT_EQ(s["in_flight"], 2);
    EXPECT_EQ(s["samples_delivered"], 900);
    EXPECT_EQ(s["samples_rejected"], 1);
    EXPECT_EQ(s["backlog_samples"], 40);
    EXPECT_EQ(s["backlog_bytes"], 4000);
    EXPECT_EQ(s["backlog_oldest_age_s"], 30);
    EXPECT_EQ(s["samples_dropped"], 7);
    EXPECT_EQ(s["meters"], 3);
    EXPECT_EQ(s["meters_failing"], 1);
    EXPECT_EQ(s["bus_rs485_up"], 1);
    EXPECT_EQ(s["bus_tcp_up"], 0);
    EXPECT_DOUBLE_EQ(s["bus_rs485_utilisation"].get<double>(), 0.25);
    EXPECT_FALSE(s.contains("bus_tcp_utilisation")) << "not measured yet: left out, not 0";
    EXPECT_EQ(s["bus_rs485_requests"], 110);
    EXPECT_EQ(s["bus_rs485_errors"], 6);
    EXPECT_DOUBLE_EQ(s["bus_rs485_error_rate"].get<double>(), 6.0 / 110.0);
    EXPECT_EQ(s["bus_tcp_requests"], 0);
    EXPECT_FALSE(s.contains("bus_tcp_error_rate")) << "no requests: no rate";
}

TEST(HealthReportTest, ErrorRatesCoverTheTimeSinceThePreviousSample) {
    HealthReporter reporter;
    (void)reporter.sample(document(100, 4));
    const json s = reporter.sample(document(190, 4));
    EXPECT_EQ(s["bus_rs485_requests"], 90);
    EXPECT_EQ(s["bus_rs485_errors"], 0);
    EXPECT_DOUBLE_EQ(s["bus_rs485_error_rate"].get<double>(), 0.0);
    // A restarted bus worker starts its counts again: the new count is all new.
    const json after_restart = reporter.sample(document(5, 1));
    EXPECT_EQ(after_restart["bus_rs485_requests"], 15);
}

TEST(HealthReportTest, AnEmptyOrHostileDocumentGivesZerosNotACrash) {
    HealthReporter reporter;
    const json s = reporter.sample(json::parse(
        R"({"uplink": [], "buffer": {"samples": -3, "oldest_ms": "x"}, "meters": {}, "buses": 7})"));
    EXPECT_EQ(s["backlog_samples"], 0);
    EXPECT_EQ(s["backlog_oldest_age_s"], 0);
    EXPECT_EQ(s["meters"], 0);
    EXPECT_EQ(s["connected"], 0);
}

TEST(HealthReportTest, MetadataNamesWhatIsConfiguredAndTheHost) {
    HostFacts host{"pi-plant-3", "Debian GNU/Linux 12 (bookworm)", "6.1.0", "aarch64"};
    const json m = gateway_metadata(document(0, 0), host, "kaa-gw-pi-plant-3");
    EXPECT_EQ(m["version"], "0.9.0");
    EXPECT_EQ(m["hostname"], "pi-plant-3");
    EXPECT_EQ(m["os"], "Debian GNU/Linux 12 (bookworm)");
    EXPECT_EQ(m["arch"], "aarch64");
    EXPECT_EQ(m["client_id"], "kaa-gw-pi-plant-3");
    EXPECT_EQ(m["buses"], json::array({"rs485", "tcp"}));
    EXPECT_EQ(m["meters"], json::array({"heat", "water", "dead"}));
    EXPECT_EQ(m["meters_configured"], 3);
    EXPECT_EQ(m["buses_configured"], 2);
}

TEST(HealthReportTest, TheHostIsRead) {
    const HostFacts host = read_host_facts();
    EXPECT_FALSE(host.hostname.empty());
    EXPECT_FALSE(host.kernel.empty());
    EXPECT_FALSE(host.os.empty());
}

}  // namespace
}  // namespace kaa::status
