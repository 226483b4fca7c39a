// The status document for a terminal and for Prometheus: what each shows, 80 columns,
// outside text escaped, a partial or hostile document never a crash.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "daemon/status/status_render.hpp"

namespace kaa::status {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

json sample_document() {
    return json::parse(R"({
      "schema": 1, "version": "0.1.0", "generated_ms": 1796000000000,
      "started_ms": 1795999000000, "config": "/etc/kaa-gateway/gateway.yaml",
      "uplink": {"broker": "kaa.local:1883", "connected": true, "since_ms": 1795999990000,
                 "connects": 2, "in_flight": 1, "samples_delivered": 12345,
                 "batches_resent": 3, "samples_rejected": 0, "errors_received": 1,
                 "last_error": {"code": 500, "reason": "busy", "meter": "heat",
                                "at_ms": 1795999700000}},
      "buffer": {"samples": 120, "bytes": 36000, "oldest_ms": 1795999920000,
                 "dropped_overflow": 0, "lost_unstored": 0, "in_memory": 0,
                 "file_bytes": 1258291},
      "buses": [{"name": "rs485-1", "state": "open", "last_error": "", "reopens": 1,
                 "utilisation_estimated": 0.25, "utilisation_measured": 0.2},
                {"name": "converter", "state": "down",
                 "last_error": "cannot open tcp 10.0.0.9:502: Connection refused",
                 "last_error_ms": 1795999995000, "reopens": 0,
                 "utilisation_estimated": 0.0, "utilisation_measured": null}],
      "meters": [{"name": "heat", "bus": "rs485-1", "state": "ok",
                  "last_good_ms": 1795999998000, "polls": 500, "last_error": "",
                  "transactions": {"requests": 1000, "answered": 998, "timeouts": 2,
                                   "exceptions": 0, "bad_frames": 0, "link_errors": 0},
                  "values": {"energy_kwh": 1234.5, "power_w": 12, "serial": "A\nB",
                             "relay": true}},
                 {"name": "water", "bus": "converter", "state": "failing",
                  "failing_since_ms": 1795999880000, "backoff_until_ms": 1796000020000,
                  "last_good_ms": null, "polls": 0,
                  "last_error": "bus converter: cannot open tcp 10.0.0.9:502",
                  "transactions": {"requests": 0}, "values": {}}]
    })");
}

TEST(StatusText, ShowsUplinkBufferBusesAndEveryMeterWithItsHealth) {
    const std::string text = render_status_text(sample_document());
    EXPECT_THAT(text, HasSubstr("kaa-gatewayd 0.1.0, up 16m 40s"));
    EXPECT_THAT(text, HasSubstr("Uplink  connected to kaa.local:1883 for 10s (2 connects)"));
    EXPECT_THAT(text, HasSubstr("12345 delivered, 1 in flight, 3 batches resent"));
    EXPECT_THAT(text, HasSubstr("last /error 500 'busy' (heat, 5m 0s ago)"));
    EXPECT_THAT(text, HasSubstr("Buffer  120 samples waiting (35.2 KiB, oldest 1m 20s)"));
    EXPECT_THAT(text, HasSubstr("file 1.2 MiB"));
    EXPECT_THAT(text, HasSubstr("rs485-1          open"));
    EXPECT_THAT(text, HasSubstr("25%/20%"));
    EXPECT_THAT(text, HasSubstr("converter        down"));
    EXPECT_THAT(text, HasSubstr("heat            rs485-1     ok                2s ago"));
    EXPECT_THAT(text, HasSubstr("water           converter   failing 2m 0s, r~ never"));
    EXPECT_THAT(text, HasSubstr("energy_kwh=1234.5 power_w=12"));
    EXPECT_THAT(text, HasSubstr("serial=\"A\\nB\""));  // a meter's text cannot break the line
    EXPECT_THAT(text, HasSubstr("relay=true"));
    EXPECT_THAT(text, HasSubstr("  ! bus converter: cannot open tcp 10.0.0.9:502"));
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        EXPECT_LE(line.size(), 80u) << line;
        EXPECT_TRUE(line.empty() || line.back() != ' ') << "'" << line << "'";
    }
}

TEST(StatusText, ShowsTheGatewaysOwnEndpointWhenItHasOne) {
    json doc = sample_document();
    EXPECT_THAT(render_status_text(doc), Not(HasSubstr("Gateway endpoint")));
    doc["gateway_endpoint"] = json{{"token", "gw-01"},
                                   {"health_interval_ms", 60000},
                                   {"samples_confirmed", 42},
                                   {"samples_waiting", 1}};
    EXPECT_THAT(render_status_text(doc),
                HasSubstr("Gateway endpoint gw-01: health every 1m 0s, 42 confirmed, 1 waiting"));
}

TEST(StatusText, TheClockIsShownWhenItIsNotSimplySynchronised) {
    json doc = sample_document();
    doc["clock"] = json{{"state", "synced"}, {"sync_offset_ms", 0}, {"steps", 0}};
    EXPECT_THAT(render_status_text(doc), Not(HasSubstr("Clock")));
    doc["clock"] = json{{"state", "waiting"},
                        {"unsynced_since_ms", 1796000000000 - 125000},
                        {"max_unsynced_ms", 600000}};
    EXPECT_THAT(render_status_text(doc),
                HasSubstr("Clock   NOT synchronised for 2m 5s: readings held (up to 10m 0s)"));
    EXPECT_THAT(render_prometheus(doc), HasSubstr("kaa_gateway_clock_synchronised 0"));
    doc["clock"]["state"] = "unsynced";
    EXPECT_THAT(render_status_text(doc), HasSubstr("sending with the local time"));
    doc["clock"] = json{{"state", "synced"}, {"sync_offset_ms", 3600000}, {"steps", 1}};
    EXPECT_THAT(render_status_text(doc),
                HasSubstr("Clock   synchronised; moved 3600000 ms at sync, 1 steps since"));
    EXPECT_THAT(render_prometheus(doc), HasSubstr("kaa_gateway_clock_synchronised 1"));
    EXPECT_THAT(render_prometheus(doc), HasSubstr("kaa_gateway_clock_steps_total 1"));
}

TEST(StatusText, ManyValuesWrapWithinEightyColumns) {
    json doc = sample_document();
    json values = json::object();
    for (int i = 0; i < 40; ++i)
        values["register_" + std::to_string(i)] = i * 1000.25;
    doc["meters"][0]["values"] = values;
    const std::string text = render_status_text(doc);
    std::istringstream lines(text);
    size_t value_lines = 0;
    for (std::string line; std::getline(lines, line);) {
        EXPECT_LE(line.size(), 80u) << line;
        value_lines += line.rfind("    register_", 0) == 0 ? 1 : 0;
    }
    EXPECT_GE(value_lines, 8u);
    EXPECT_THAT(text, HasSubstr("register_39=39009.75"));
}

TEST(StatusText, APartialOrHostileDocumentIsShownAsFarAsItGoes) {
    EXPECT_THAT(render_status_text(json::object()), HasSubstr("NOT connected"));
    json odd = json::parse(R"({"meters": [1, "x", {"name": 5, "values": [1]}],
                               "buses": {"a": 1}, "uplink": [], "generated_ms": "now"})");
    EXPECT_NO_THROW(render_status_text(odd));
    EXPECT_NO_THROW(render_prometheus(odd));
    json forged = sample_document();
    forged["meters"][0]["name"] = "heat\nkaa-gatewayd: all fine";
    EXPECT_THAT(render_status_text(forged), Not(HasSubstr("\nkaa-gatewayd: all fine")));
}

TEST(StatusPrometheus, GivesEachFamilyOnceWithHelpTypeAndLabelledSamples) {
    const std::string text = render_prometheus(sample_document());
    EXPECT_THAT(text, HasSubstr("# TYPE kaa_gateway_uplink_connected gauge\n"
                                "kaa_gateway_uplink_connected 1\n"));
    EXPECT_THAT(text, HasSubstr("kaa_gateway_samples_delivered_total 12345\n"));
    EXPECT_THAT(text, HasSubstr("kaa_gateway_buffer_samples 120\n"));
    EXPECT_THAT(text, HasSubstr("kaa_gateway_buffer_oldest_age_seconds 80\n"));
    EXPECT_THAT(text, HasSubstr("kaa_gateway_bus_up{bus=\"converter\"} 0\n"));
    EXPECT_THAT(text,
                HasSubstr("kaa_gateway_bus_utilisation_ratio{bus=\"rs485-1\",kind=\"measured\"} "
                          "0.2\n"));
    EXPECT_THAT(text, Not(HasSubstr("bus=\"converter\",kind=\"measured\"")));  // null: none
    EXPECT_THAT(text, HasSubstr("kaa_gateway_meter_up{meter=\"water\",bus=\"converter\"} 0\n"));
    EXPECT_THAT(text, HasSubstr("kaa_gateway_meter_transactions_total{meter=\"heat\",bus=\"rs485-"
                                "1\",outcome=\"timeouts\"} 2\n"));
    EXPECT_THAT(text, HasSubstr("kaa_gateway_meter_reading{meter=\"heat\",bus=\"rs485-1\","
                                "register=\"energy_kwh\"} 1234.5\n"));
    EXPECT_THAT(text, HasSubstr("register=\"relay\"} 1\n"));
    EXPECT_THAT(text, Not(HasSubstr("register=\"serial\"")));  // text is no gauge
    // Each family's HELP and TYPE once, before its samples.
    size_t types = 0;
    for (size_t at = text.find("# TYPE "); at != std::string::npos;
         at = text.find("# TYPE ", at + 1)) {
        ++types;
    }
    size_t helps = 0;
    for (size_t at = text.find("# HELP "); at != std::string::npos;
         at = text.find("# HELP ", at + 1)) {
        ++helps;
    }
    EXPECT_EQ(types, helps);
    EXPECT_GE(types, 20u);
}

TEST(StatusPrometheus, LabelValuesAreEscaped) {
    json doc = sample_document();
    doc["meters"][0]["name"] = "he\"at\\1\nx";
    const std::string text = render_prometheus(doc);
    EXPECT_THAT(text, HasSubstr("meter=\"he\\\"at\\\\\\\\1\\\\nx\""));
}

TEST(StatusAge, TwoUnitsAtMost) {
    EXPECT_EQ(format_age(0), "0s");
    EXPECT_EQ(format_age(59'999), "59s");
    EXPECT_EQ(format_age(200'000), "3m 20s");
    EXPECT_EQ(format_age(7'500'000), "2h 5m");
    EXPECT_EQ(format_age(356'400'000), "4d 3h");
    EXPECT_EQ(format_age(-5), "0s");
}

}  // namespace
}  // namespace kaa::status
