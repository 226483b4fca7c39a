// The reload diff: which meters were added, changed or removed, which buses restart.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "daemon/config_diff.hpp"
#include "tests/unit/config_test_helpers.hpp"

namespace kaa {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

/// A one-line meter on `bus` with one register; `extra` adds keys inside the braces.
std::string meter(const std::string& name, const std::string& bus, const std::string& extra = "") {
    return "  - {name: " + name + ", token: tok-" + name + ", bus: " + bus +
           ", registers: [{name: v, address: 0}]" + extra + "}\n";
}

/// A valid configuration: kHead (buses tcp1 and rtu1) and these meters.
config::GatewayConfig load(const std::string& meters, const std::string& head = "") {
    auto result = config::testing::load((head.empty() ? config::testing::kHead : head) + meters);
    EXPECT_THAT(config::testing::messages(result.errors), IsEmpty());
    return result.config.value_or(config::GatewayConfig{});
}

/// Diff of a fully active running configuration against a new one.
ConfigDiff diff(const std::string& running, const std::string& loaded) {
    const auto old = load(running);
    return diff_configs(old, std::vector<bool>(old.meters.size(), true), load(loaded));
}

const std::string kTwo = meter("a", "tcp1") + meter("b", "rtu1");

TEST(ConfigDiffTest, SameMetersOnOtherLinesChangeNothing) {
    const auto d = diff(kTwo, "  # a comment moves every line down\n" + kTwo);
    EXPECT_TRUE(d.no_live_change());
    EXPECT_THAT(d.needs_restart, IsEmpty());
    EXPECT_THAT(d.active, ElementsAre(true, true));
}

TEST(ConfigDiffTest, AddedMeterGetsTheNextSlotAndRestartsOnlyItsBus) {
    const auto d = diff(kTwo, meter("c", "tcp1") + kTwo);
    EXPECT_THAT(d.added, ElementsAre(2u));
    EXPECT_THAT(d.changed, IsEmpty());
    EXPECT_THAT(d.removed, IsEmpty());
    EXPECT_THAT(d.restart_buses, ElementsAre("tcp1"));
    EXPECT_THAT(d.stop_buses, IsEmpty());
    ASSERT_EQ(d.next.meters.size(), 3u);
    EXPECT_EQ(d.next.meters[0].name, "a");
    EXPECT_EQ(d.next.meters[1].name, "b");
    EXPECT_EQ(d.next.meters[2].name, "c");
}

TEST(ConfigDiffTest, ChangedPollIntervalRestartsOnlyThatMetersBus) {
    const auto d = diff(kTwo, meter("a", "tcp1") + meter("b", "rtu1", ", poll_interval: 2s"));
    EXPECT_THAT(d.changed, ElementsAre(1u));
    EXPECT_THAT(d.added, IsEmpty());
    EXPECT_THAT(d.restart_buses, ElementsAre("rtu1"));
    EXPECT_EQ(d.next.meters[1].poll_interval, std::chrono::seconds(2));
}

TEST(ConfigDiffTest, ChangedTokenOrRegisterIsAChange) {
    EXPECT_THAT(diff(kTwo,
                     "  - {name: a, token: new, bus: tcp1, registers: [{name: v, "
                     "address: 0}]}\n" +
                         meter("b", "rtu1"))
                    .changed,
                ElementsAre(0u));
    EXPECT_THAT(diff(kTwo,
                     "  - {name: a, token: tok-a, bus: tcp1, registers: [{name: v, "
                     "address: 1}]}\n" +
                         meter("b", "rtu1"))
                    .changed,
                ElementsAre(0u));
}

TEST(ConfigDiffTest, RemovedMeterKeepsItsSlotInactiveAndItsEmptyBusStops) {
    const auto d = diff(kTwo, meter("a", "tcp1"));
    EXPECT_THAT(d.removed, ElementsAre(1u));
    EXPECT_THAT(d.active, ElementsAre(true, false));
    ASSERT_EQ(d.next.meters.size(), 2u);
    EXPECT_EQ(d.next.meters[1].name, "b");
    EXPECT_THAT(d.restart_buses, IsEmpty());
    EXPECT_THAT(d.stop_buses, ElementsAre("rtu1"));
}

TEST(ConfigDiffTest, RemovedMeterOnASharedBusRestartsIt) {
    const auto d = diff(kTwo + meter("c", "tcp1"), kTwo);
    EXPECT_THAT(d.removed, ElementsAre(2u));
    EXPECT_THAT(d.restart_buses, ElementsAre("tcp1"));
    EXPECT_THAT(d.stop_buses, IsEmpty());
}

TEST(ConfigDiffTest, MeterBackAfterRemovalGetsItsOldSlot) {
    const auto running = load(kTwo);
    const auto d = diff_configs(running, {true, false}, load(kTwo));
    EXPECT_THAT(d.added, ElementsAre(1u));
    EXPECT_THAT(d.active, ElementsAre(true, true));
    EXPECT_THAT(d.restart_buses, ElementsAre("rtu1"));
    EXPECT_EQ(d.next.meters.size(), 2u);
}

TEST(ConfigDiffTest, MeterMovedToAnotherBusRestartsBoth) {
    const auto d = diff(kTwo + meter("c", "tcp1"), kTwo + meter("c", "rtu1"));
    EXPECT_THAT(d.changed, ElementsAre(2u));
    EXPECT_THAT(d.restart_buses, ElementsAre("rtu1", "tcp1"));
}

TEST(ConfigDiffTest, ChangedBusSettingsRestartOnlyThatBus) {
    const std::string head =
        "kaa: {host: h, app_version: av}\n"
        "buses:\n"
        "  - name: tcp1\n"
        "    tcp: {host: 127.0.0.1, port: 1502}\n"
        "  - name: rtu1\n"
        "    rtu: {device: /dev/null}\n"
        "meters:\n";
    const auto old = load(kTwo);
    const auto d = diff_configs(old, {true, true}, load(kTwo, head));
    EXPECT_THAT(d.restart_buses, ElementsAre("tcp1"));
    EXPECT_THAT(d.changed, IsEmpty());
}

TEST(ConfigDiffTest, KaaAndBufferChangesNeedARestartAndKeepTheRunningValues) {
    const std::string head =
        "kaa: {host: other, app_version: av}\n"
        "buffer: {path: /tmp/other.db}\n"
        "buses:\n"
        "  - name: tcp1\n"
        "    tcp: {host: 127.0.0.1}\n"
        "  - name: rtu1\n"
        "    rtu: {device: /dev/null}\n"
        "meters:\n";
    const auto old = load(kTwo);
    const auto d = diff_configs(old, {true, true}, load(kTwo, head));
    EXPECT_THAT(d.needs_restart, ElementsAre("kaa.host", "buffer.path"));
    EXPECT_EQ(d.next.kaa.host, "h");
    EXPECT_EQ(d.next.buffer.path, old.buffer.path);
    EXPECT_TRUE(d.no_live_change());
}

TEST(ConfigDiffTest, TheGatewayTokenAndStatusSocketStayUntilARestartHealthIntervalApplies) {
    const std::string running_head =
        "kaa: {host: h, app_version: av}\n"
        "gateway: {token: gw-1, health_interval: 60s}\n"
        "status: {socket: /run/a.sock}\n"
        "buses:\n"
        "  - name: tcp1\n"
        "    tcp: {host: 127.0.0.1}\n"
        "  - name: rtu1\n"
        "    rtu: {device: /dev/null}\n"
        "meters:\n";
    std::string loaded_head = running_head;
    loaded_head.replace(loaded_head.find("gw-1, health_interval: 60s"), 26,
                        "gw-2, health_interval: 5s");
    loaded_head.replace(loaded_head.find("/run/a.sock"), 11, "/run/b.sock");
    const auto old = load(kTwo, running_head);
    const auto d = diff_configs(old, {true, true}, load(kTwo, loaded_head));
    EXPECT_THAT(d.needs_restart, ElementsAre("gateway.token", "status.socket"));
    EXPECT_EQ(d.next.gateway.token, "gw-1");
    EXPECT_EQ(d.next.gateway.health_interval, std::chrono::seconds(5));
    EXPECT_EQ(d.next.status.socket, "/run/a.sock");
}

TEST(ConfigDiffTest, NewBusWithMetersStarts) {
    const std::string head =
        "kaa: {host: h, app_version: av}\n"
        "buses:\n"
        "  - name: tcp1\n"
        "    tcp: {host: 127.0.0.1}\n"
        "  - name: rtu1\n"
        "    rtu: {device: /dev/null}\n"
        "  - name: tcp2\n"
        "    tcp: {host: 127.0.0.2}\n"
        "meters:\n";
    const auto old = load(kTwo);
    const auto d = diff_configs(old, {true, true}, load(kTwo + meter("c", "tcp2"), head));
    EXPECT_THAT(d.added, ElementsAre(2u));
    EXPECT_THAT(d.restart_buses, ElementsAre("tcp2"));
}

}  // namespace
}  // namespace kaa
