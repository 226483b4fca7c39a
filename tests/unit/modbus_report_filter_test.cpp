// Reporting rules in simulated time: polls every second with their read times, and what
// the filter lets through. on_change with an absolute and a percent deadband, the heartbeat,
// a failed read sending nothing, and a clock stepped back.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "drivers/modbus/report_filter.hpp"

namespace kaa::modbus {
namespace {

using config::ReportMode;

config::RegisterConfig reg(const std::string& name, ReportMode mode, double deadband = 0,
                           bool percent = false,
                           config::ValueType type = config::ValueType::kFloat32) {
    config::RegisterConfig r;
    r.name = name;
    r.type = type;
    r.report = mode;
    r.deadband = deadband;
    r.deadband_percent = percent;
    return r;
}

Reading good(const std::string& name, Value v) {
    return Reading{name, std::move(v), Quality::kGood};
}
Reading failed(const std::string& name) {
    return Reading{name, Value{}, Quality::kReadFailed};
}

/// What a sample sends, as JSON ({} when the filter sent nothing).
std::string sent(ReportFilter& f, int64_t read_ms, std::vector<Reading> readings) {
    Sample s{0, read_ms, std::move(readings)};
    if (!f.apply(s))
        return "{}";
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    for (const Reading& r : s.readings) {
        if (r.quality == Quality::kGood)
            std::visit([&](const auto& v) { j[r.name] = v; }, r.value);
        else
            j[r.name] = nullptr;
    }
    return j.dump();
}

constexpr int64_t kT0 = 1'796'000'000'000;
constexpr int64_t kSecond = 1000;

class ReportFilterTest : public ::testing::Test {
  protected:
    ReportFilterTest() {
        meter.name = "m";
        meter.poll_interval = std::chrono::seconds(1);
        meter.heartbeat = std::chrono::seconds(10);
    }
    config::MeterConfig meter;
};

TEST_F(ReportFilterTest, EveryPollRegistersGoIntoEverySampleWhole) {
    meter.registers = {reg("a", ReportMode::kEveryPoll)};
    ReportFilter f(meter);
    EXPECT_TRUE(f.passes_everything());
    EXPECT_EQ(sent(f, kT0, {good("a", 1.5)}), R"({"a":1.5})");
    EXPECT_EQ(sent(f, kT0 + kSecond, {good("a", 1.5)}), R"({"a":1.5})");
    EXPECT_EQ(sent(f, kT0 + 2 * kSecond, {failed("a")}), R"({"a":null})");
}

TEST_F(ReportFilterTest, AnAbsoluteDeadbandSendsOnlyMovesLargerThanItFromTheLastValueSent) {
    meter.registers = {reg("power", ReportMode::kOnChange, 5)};
    ReportFilter f(meter);
    EXPECT_EQ(sent(f, kT0, {good("power", 100.0)}), R"({"power":100.0})");  // the first
    EXPECT_EQ(sent(f, kT0 + 1 * kSecond, {good("power", 104.0)}), "{}");
    EXPECT_EQ(sent(f, kT0 + 2 * kSecond, {good("power", 105.0)}), "{}");  // not more than 5
    // Creeping by 1 a poll: the reference is the value sent (100), not the last read.
    EXPECT_EQ(sent(f, kT0 + 3 * kSecond, {good("power", 105.5)}), R"({"power":105.5})");
    EXPECT_EQ(sent(f, kT0 + 4 * kSecond, {good("power", 100.6)}), "{}");
    EXPECT_EQ(sent(f, kT0 + 5 * kSecond, {good("power", 100.4)}), R"({"power":100.4})");
}

TEST_F(ReportFilterTest, APercentDeadbandIsAShareOfTheLastValueSent) {
    meter.registers = {reg("flow", ReportMode::kOnChange, 10, true)};
    ReportFilter f(meter);
    EXPECT_EQ(sent(f, kT0, {good("flow", 200.0)}), R"({"flow":200.0})");
    EXPECT_EQ(sent(f, kT0 + kSecond, {good("flow", 219.0)}), "{}");  // 9.5 %
    EXPECT_EQ(sent(f, kT0 + 2 * kSecond, {good("flow", 221.0)}), R"({"flow":221.0})");
    EXPECT_EQ(sent(f, kT0 + 3 * kSecond, {good("flow", 199.0)}), "{}");  // 9.95 % of 221
    EXPECT_EQ(sent(f, kT0 + 4 * kSecond, {good("flow", 198.0)}), R"({"flow":198.0})");
    // From zero any change is a change.
    EXPECT_EQ(sent(f, kT0 + 5 * kSecond, {good("flow", 0.0)}), R"({"flow":0.0})");
    EXPECT_EQ(sent(f, kT0 + 6 * kSecond, {good("flow", 0.001)}), R"({"flow":0.001})");
}

TEST_F(ReportFilterTest, WithoutADeadbandAnyChangeIsSentAndTextAndBitsCompareWhole) {
    meter.registers = {reg("count", ReportMode::kOnChange, 0, false, config::ValueType::kUint64),
                       reg("relay", ReportMode::kOnChange, 0, false, config::ValueType::kBool)};
    ReportFilter f(meter);
    const uint64_t big = 9'007'199'254'740'993ull;  // 2^53 + 1: a double cannot tell it
    EXPECT_EQ(sent(f, kT0, {good("count", big - 1), good("relay", false)}),
              R"({"count":9007199254740992,"relay":false})");
    EXPECT_EQ(sent(f, kT0 + kSecond, {good("count", big), good("relay", false)}),
              R"({"count":9007199254740993})");
    EXPECT_EQ(sent(f, kT0 + 2 * kSecond, {good("count", big), good("relay", true)}),
              R"({"relay":true})");
    EXPECT_EQ(sent(f, kT0 + 3 * kSecond, {good("count", big), good("relay", true)}), "{}");
}

TEST_F(ReportFilterTest, TheHeartbeatSendsEveryCurrentValueAtLeastThatOften) {
    meter.registers = {reg("energy", ReportMode::kOnChange, 1),
                       reg("power", ReportMode::kOnChange, 1)};
    ReportFilter f(meter);
    EXPECT_EQ(sent(f, kT0, {good("energy", 10.0), good("power", 3.0)}),
              R"({"energy":10.0,"power":3.0})");
    int sent_polls = 0;
    for (int s = 1; s < 10; ++s)
        sent_polls +=
            sent(f, kT0 + s * kSecond, {good("energy", 10.0), good("power", 3.0)}) != "{}";
    EXPECT_EQ(sent_polls, 0);  // nothing moved for 9 s
    EXPECT_EQ(sent(f, kT0 + 10 * kSecond, {good("energy", 10.0), good("power", 3.0)}),
              R"({"energy":10.0,"power":3.0})");  // the heartbeat: 10 s of silence at most
    EXPECT_EQ(sent(f, kT0 + 11 * kSecond, {good("energy", 10.0), good("power", 3.0)}), "{}");
    // A change in between sends that value alone; the heartbeat still counts from the
    // last full sample.
    EXPECT_EQ(sent(f, kT0 + 15 * kSecond, {good("energy", 12.0), good("power", 3.0)}),
              R"({"energy":12.0})");
    EXPECT_EQ(sent(f, kT0 + 20 * kSecond, {good("energy", 12.0), good("power", 3.0)}),
              R"({"energy":12.0,"power":3.0})");
}

TEST_F(ReportFilterTest, AFailedReadSendsNoValueNeitherStaleNorZero) {
    meter.registers = {reg("temp", ReportMode::kOnChange, 0.5),
                       reg("state", ReportMode::kEveryPoll)};
    ReportFilter f(meter);
    EXPECT_EQ(sent(f, kT0, {good("temp", 20.0), good("state", int64_t{1})}),
              R"({"temp":20.0,"state":1})");
    // temp fails: not sent, not even at the heartbeat; state (every_poll) says null as always.
    EXPECT_EQ(sent(f, kT0 + kSecond, {failed("temp"), good("state", int64_t{1})}),
              R"({"state":1})");
    EXPECT_EQ(sent(f, kT0 + 10 * kSecond, {failed("temp"), failed("state")}), R"({"state":null})");
    // Back, unchanged from the last value sent: not sent again (the heartbeat just passed).
    EXPECT_EQ(sent(f, kT0 + 11 * kSecond, {good("temp", 20.2), good("state", int64_t{1})}),
              R"({"state":1})");
    // A meter whose only registers are on_change and fail sends nothing at all.
    config::MeterConfig quiet = meter;
    quiet.registers = {reg("temp", ReportMode::kOnChange)};
    ReportFilter g(quiet);
    EXPECT_EQ(sent(g, kT0, {failed("temp")}), "{}");
    EXPECT_EQ(sent(g, kT0 + 20 * kSecond, {failed("temp")}), "{}");
}

TEST_F(ReportFilterTest, AClockSteppedBackStartsTheHeartbeatAgain) {
    meter.registers = {reg("v", ReportMode::kOnChange, 1)};
    ReportFilter f(meter);
    EXPECT_EQ(sent(f, kT0, {good("v", 1.0)}), R"({"v":1.0})");
    EXPECT_EQ(sent(f, kT0 + 5 * kSecond, {good("v", 1.0)}), "{}");
    // NTP steps the clock back an hour: the next poll is a full sample, not an hour's silence.
    EXPECT_EQ(sent(f, kT0 - 3600 * kSecond, {good("v", 1.0)}), R"({"v":1.0})");
    EXPECT_EQ(sent(f, kT0 - 3599 * kSecond, {good("v", 1.0)}), "{}");
    EXPECT_EQ(sent(f, kT0 - 3590 * kSecond, {good("v", 1.0)}), R"({"v":1.0})");
}

}  // namespace
}  // namespace kaa::modbus
