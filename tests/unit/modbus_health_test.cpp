// What a poller tells the status: health transitions, last good values and read time, and
// its transactions counted by outcome, retries included (simulated time, fake transport).
#include <gtest/gtest.h>

#include <deque>

#include <nlohmann/json.hpp>

#include "drivers/modbus/meter_poller.hpp"
#include "tests/fakes/fake_clock.hpp"

namespace kaa::modbus {
namespace {

using config::RegisterFunction;
using std::chrono::milliseconds;

/// Answers each read with the next scripted result (an error, or the words 7, 8, ...).
class QueueTransport final : public MeterTransport {
  public:
    explicit QueueTransport(fakes::FakeClock& clock) : clock_(clock) {}
    Status open() override { return {}; }
    void close() override {}
    bool is_open() const override { return true; }
    Result<std::vector<uint16_t>> read(int, RegisterFunction, uint16_t, uint16_t count) override {
        clock_.advance(milliseconds(10));
        if (!errors.empty()) {
            Error e = errors.front();
            errors.pop_front();
            if (e.kind != ErrorKind::kInternal)  // kInternal: scripted success
                return e;
        }
        std::vector<uint16_t> out(count);
        for (uint16_t i = 0; i < count; ++i)
            out[i] = static_cast<uint16_t>(7 + i);
        return out;
    }
    std::string describe() const override { return "queue"; }
    std::deque<Error> errors;

  private:
    fakes::FakeClock& clock_;
};

/// A reading's value as JSON (whatever integer type the decoder chose).
nlohmann::json json_of(const Reading& r) {
    nlohmann::json j;
    std::visit([&](const auto& v) { j = v; }, r.value);
    return j;
}

const Error kOk{ErrorKind::kInternal, "", 0};
const Error kTimeout{ErrorKind::kTimeout, "timed out", 0};
const Error kCrc{ErrorKind::kBadResponse, "bad CRC", 0};
const Error kException{ErrorKind::kModbusException, "Modbus exception 2", 2};

class HealthTest : public ::testing::Test {
  protected:
    HealthTest() : transport(clock) {
        bus.name = "rs485-1";
        bus.retries = 1;
        meter.name = "heat";
        meter.unit = 2;
        config::RegisterConfig a;
        a.name = "a";
        a.address = 0;
        a.type = config::ValueType::kUint16;
        config::RegisterConfig b = a;
        b.name = "b";
        b.address = 1;
        meter.registers = {a, b};
    }
    BusLine line() {
        return BusLine(bus, transport, clock, [](Clock::Monotonic) { return true; });
    }
    fakes::FakeClock clock;
    QueueTransport transport;
    config::BusConfig bus;
    config::MeterConfig meter;
};

TEST_F(HealthTest, ANewMeterWaitsUntilItsFirstPoll) {
    MeterPoller poller(5, meter, bus.name, clock);
    EXPECT_EQ(poller.health().state, MeterState::kWaiting);
    EXPECT_EQ(poller.health().meter_index, 5u);
    EXPECT_EQ(poller.health().last_good_ms, 0);
    EXPECT_STREQ(meter_state_name(poller.health().state), "waiting");
}

TEST_F(HealthTest, AGoodPollKeepsItsValuesReadTimeAndCounts) {
    MeterPoller poller(0, meter, bus.name, clock);
    auto l = line();
    const int64_t t0 = clock.wall_ms();
    ASSERT_TRUE(poller.poll(l).sample);
    const MeterHealth& h = poller.health();
    EXPECT_EQ(h.state, MeterState::kOk);
    EXPECT_EQ(h.last_good_ms, t0);
    EXPECT_EQ(h.polls, 1u);
    EXPECT_EQ(h.polls_failed, 0u);
    ASSERT_EQ(h.last_values.size(), 2u);
    EXPECT_EQ(h.last_values[0].name, "a");
    EXPECT_EQ(json_of(h.last_values[0]), 7);
    EXPECT_EQ(json_of(h.last_values[1]), 8);
    EXPECT_EQ(h.transactions.requests, 1u);  // a and b in one read
    EXPECT_EQ(h.transactions.answered, 1u);
    EXPECT_EQ(l.busy_us(), 10000u);  // the fake's 10 ms on the wire
}

TEST_F(HealthTest, RetriesAreCountedByOutcomeAndAFailedPollKeepsTheLastGoodValues) {
    MeterPoller poller(0, meter, bus.name, clock);
    auto l = line();
    ASSERT_TRUE(poller.poll(l).sample);
    const int64_t good_at = poller.health().last_good_ms;
    clock.advance(std::chrono::seconds(5));
    transport.errors = {kTimeout, kTimeout};  // the read and its one retry
    const int64_t failed_at = clock.wall_ms();
    EXPECT_FALSE(poller.poll(l).sample);
    const MeterHealth& h = poller.health();
    EXPECT_EQ(h.state, MeterState::kFailing);
    EXPECT_EQ(h.failing_since_ms, failed_at);
    EXPECT_EQ(h.last_good_ms, good_at);
    EXPECT_EQ(h.last_values.size(), 2u);
    EXPECT_EQ(h.polls, 2u);
    EXPECT_EQ(h.polls_failed, 1u);
    EXPECT_EQ(h.transactions.requests, 3u);
    EXPECT_EQ(h.transactions.timeouts, 2u);
    EXPECT_FALSE(h.last_error.empty());

    // Still failing: "since" stays at the first failure.
    clock.advance(std::chrono::seconds(5));
    transport.errors = {kCrc, kCrc};
    EXPECT_FALSE(poller.poll(l).sample);
    EXPECT_EQ(poller.health().failing_since_ms, failed_at);
    EXPECT_EQ(poller.health().transactions.bad_frames, 2u);

    // Back: ok, the failure forgotten, the backoff too.
    poller.note_backoff(clock.wall_ms() + 30000);
    transport.errors = {kCrc, kOk};
    ASSERT_TRUE(poller.poll(l).sample);
    EXPECT_EQ(poller.health().state, MeterState::kOk);
    EXPECT_EQ(poller.health().failing_since_ms, 0);
    EXPECT_EQ(poller.health().backoff_until_ms, 0);
    EXPECT_EQ(poller.health().transactions.requests, 7u);
    EXPECT_EQ(poller.health().transactions.answered, 2u);
    EXPECT_EQ(poller.health().transactions.bad_frames, 3u);
}

TEST_F(HealthTest, AnExceptionIsCountedAndItsRegistersAreNotAmongTheLastValues) {
    meter.max_gap = 0;
    meter.registers[1].address = 10;  // two reads: a, then b
    MeterPoller poller(0, meter, bus.name, clock);
    auto l = line();
    transport.errors = {kOk, kException};
    ASSERT_TRUE(poller.poll(l).sample);
    const MeterHealth& h = poller.health();
    EXPECT_EQ(h.state, MeterState::kOk);
    ASSERT_EQ(h.last_values.size(), 1u);
    EXPECT_EQ(h.last_values[0].name, "a");
    EXPECT_EQ(h.transactions.exceptions, 1u);
    EXPECT_NE(h.last_error.find("b"), std::string::npos) << h.last_error;
}

}  // namespace
}  // namespace kaa::modbus
