// Reporting rules in the configuration: a register's report/deadband/deadband_percent, a
// meter's report default and heartbeat, and what is refused with file:line:column.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "config/config_json.hpp"
#include "config/config_loader.hpp"
#include "tests/unit/config_test_helpers.hpp"

namespace kaa::config {
namespace {

using ::testing::ElementsAre;
using namespace kaa::config::testing;  // NOLINT: test helpers

/// One meter on tcp1 (line 8) with `meter_keys` and these registers (from line 10).
std::string meter(const std::string& meter_keys, const std::string& registers) {
    return kHead + "  - {name: m, token: t, bus: tcp1" + meter_keys + ",\n" +
           "     registers: [\n" + registers + "]}\n";
}

TEST(ConfigReport, EveryPollIsTheDefaultAndAMeterDefaultAppliesToItsRegisters) {
    auto plain = load(meter("", "{name: a, address: 0, type: uint16}"));
    ASSERT_TRUE(plain.config) << ::testing::PrintToString(messages(plain.errors));
    const MeterConfig& p = plain.config->meters[0];
    EXPECT_EQ(p.report, ReportMode::kEveryPoll);
    EXPECT_EQ(p.registers[0].report, ReportMode::kEveryPoll);
    EXPECT_EQ(p.heartbeat, std::chrono::minutes(15));

    auto quiet = load(meter(", report: on_change, heartbeat: 5min",
                            "{name: a, address: 0, type: uint16},\n"
                            "{name: b, address: 1, type: uint16, report: every_poll},\n"
                            "{name: c, address: 2, type: float32, deadband_percent: 2.5}"));
    ASSERT_TRUE(quiet.config) << ::testing::PrintToString(messages(quiet.errors));
    const MeterConfig& q = quiet.config->meters[0];
    EXPECT_EQ(q.heartbeat, std::chrono::minutes(5));
    EXPECT_EQ(q.registers[0].report, ReportMode::kOnChange);
    EXPECT_EQ(q.registers[1].report, ReportMode::kEveryPoll);
    EXPECT_EQ(q.registers[2].report, ReportMode::kOnChange);
    EXPECT_DOUBLE_EQ(q.registers[2].deadband, 2.5);
    EXPECT_TRUE(q.registers[2].deadband_percent);
}

TEST(ConfigReport, ADeadbandImpliesOnChangeAndSurvivesTheParserChildsJson) {
    auto r = load(meter("", "{name: p, address: 0, type: float32, deadband: 5}"));
    ASSERT_TRUE(r.config);
    const RegisterConfig& reg = r.config->meters[0].registers[0];
    EXPECT_EQ(reg.report, ReportMode::kOnChange);
    EXPECT_DOUBLE_EQ(reg.deadband, 5);
    EXPECT_FALSE(reg.deadband_percent);
    // The configuration crosses from the parser's child process as JSON (isolated_loader).
    auto back = gateway_config_from_json(to_json(*r.config));
    ASSERT_TRUE(back);
    EXPECT_EQ(back->meters[0].registers[0].report, ReportMode::kOnChange);
    EXPECT_DOUBLE_EQ(back->meters[0].registers[0].deadband, 5);
    EXPECT_EQ(back->meters[0].heartbeat, std::chrono::minutes(15));
}

TEST(ConfigReport, WrongRulesAreRefusedWhereTheyAreWritten) {
    EXPECT_THAT(errors(meter("", "{name: a, address: 0, type: uint16, report: sometimes}")),
                ElementsAre("t.yaml:10:45: meter 'm' register 'a': report must be one of "
                            "every_poll, on_change, got 'sometimes'"));
    EXPECT_THAT(errors(meter("",
                             "{name: a, address: 0, type: uint16, deadband: 1, "
                             "deadband_percent: 2}")),
                ElementsAre("t.yaml:10:68: meter 'm' register 'a': deadband_percent "
                            "cannot be used with deadband: give one of them"));
    EXPECT_THAT(errors(meter("",
                             "{name: a, address: 0, type: bool, function: coil, "
                             "deadband: 1}")),
                ElementsAre("t.yaml:10:61: meter 'm' register 'a': deadband is not "
                            "allowed with type bool (a change of text or of a bit is always "
                            "sent)"));
    EXPECT_THAT(errors(meter("",
                             "{name: a, address: 0, type: uint16, report: every_poll, "
                             "deadband: 1}")),
                ElementsAre("t.yaml:10:67: meter 'm' register 'a': deadband needs "
                            "report: on_change (with every_poll each value is sent anyway)"));
    EXPECT_THAT(errors(meter("", "{name: a, address: 0, type: uint16, deadband: -1}")),
                ElementsAre("t.yaml:10:47: meter 'm' register 'a': deadband must be 0 "
                            "or more, got -1"));
    EXPECT_THAT(errors(meter(", heartbeat: 500ms", "{name: a, address: 0, type: uint16}")),
                ElementsAre("t.yaml:8:47: meter 'm': heartbeat must be between 1s and 24h, "
                            "got 500ms"));
    EXPECT_THAT(errors(meter(", poll_interval: 1min, heartbeat: 30s",
                             "{name: a, address: 0, type: uint16}")),
                ElementsAre("t.yaml:8:68: meter 'm': heartbeat must be at least the "
                            "poll_interval (1min), got 30s"));
}

TEST(ConfigReport, MetadataRegistersTakeNoReportingRule) {
    const std::string yaml =
        kHead +
        "  - {name: m, token: t, bus: tcp1, registers: [{name: a, address: 0, type: uint16}],\n"
        "     metadata_registers: [{name: fw, address: 9, type: uint16, report: on_change}]}\n";
    const auto e = errors(yaml);
    ASSERT_EQ(e.size(), 1u);
    EXPECT_THAT(e[0], ::testing::HasSubstr("unknown key 'report'"));
}

TEST(ConfigReport, SendAsMetadataMakesAPolledRegisterAMetadataRegister) {
    auto r = load(meter(", metadata_interval: 10min",
                        "{name: power, address: 0, type: float32},\n"
                        "{name: tariff, address: 8, type: uint16, send_as: metadata},\n"
                        "{name: energy, address: 2, type: uint32, send_as: sample}"));
    ASSERT_TRUE(r.config) << ::testing::PrintToString(messages(r.errors));
    const MeterConfig& m = r.config->meters[0];
    ASSERT_EQ(m.registers.size(), 2u);
    EXPECT_EQ(m.registers[0].name, "power");
    EXPECT_EQ(m.registers[1].name, "energy");
    ASSERT_EQ(m.metadata_registers.size(), 1u);
    EXPECT_EQ(m.metadata_registers[0].name, "tariff");
    EXPECT_EQ(m.metadata_registers[0].address, 8);

    // It is a metadata key: EPMP's rules for its name, no reporting rule.
    EXPECT_THAT(errors(meter("",
                             "{name: a, address: 0, type: uint16},\n"
                             "{name: fw-version, address: 9, type: uint16, send_as: metadata}")),
                ElementsAre("t.yaml:11:8: meter 'm' register 'fw-version': name 'fw-version' may "
                            "contain only letters, digits and '_' (it is an EPMP metadata key)"));
    EXPECT_THAT(errors(meter("",
                             "{name: a, address: 0, type: uint16},\n"
                             "{name: fw, address: 9, type: uint16, send_as: metadata, "
                             "report: on_change}")),
                ElementsAre("t.yaml:11:65: meter 'm' register 'fw': report does not apply with "
                            "send_as: metadata (a metadata value is sent when it changes)"));
}

}  // namespace
}  // namespace kaa::config
