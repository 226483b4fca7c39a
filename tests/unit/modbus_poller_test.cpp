// MeterPoller against a scripted fake transport: samples, partial failures, timeouts,
// retries, pacing, metadata.
#include <gtest/gtest.h>

#include <map>
#include <tuple>

#include <nlohmann/json.hpp>

#include "drivers/modbus/meter_poller.hpp"
#include "tests/fakes/fake_clock.hpp"

namespace kaa::modbus {
namespace {

/// The good values of a sample as a JSON object, in register order.
nlohmann::ordered_json values_of(const Sample& sample) {
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    for (const Reading& r : sample.readings) {
        if (r.quality == Quality::kGood)
            std::visit([&](const auto& v) { out[r.name] = v; }, r.value);
    }
    return out;
}

using config::RegisterFunction;
using std::chrono::milliseconds;

/// A transport whose answers are scripted per (unit, function, address).
class ScriptedTransport final : public MeterTransport {
  public:
    using Key = std::tuple<int, RegisterFunction, uint16_t>;
    explicit ScriptedTransport(fakes::FakeClock& clock) : clock_(clock) {}
    Status open() override {
        open_ = true;
        return {};
    }
    void close() override { open_ = false; }
    bool is_open() const override { return open_; }
    Result<std::vector<uint16_t>> read(int unit, RegisterFunction f, uint16_t address,
                                       uint16_t count) override {
        requests.push_back({unit, f, address, count, clock_.now()});
        clock_.advance(milliseconds(10));
        if (auto it = failures.find({unit, f, address}); it != failures.end()) {
            if (it->second.second > 0) {
                --it->second.second;
                return it->second.first;
            }
        }
        std::vector<uint16_t> out(count);
        for (uint16_t i = 0; i < count; ++i) {
            auto it = words.find({unit, f, static_cast<uint16_t>(address + i)});
            out[i] = it == words.end() ? 0 : it->second;
        }
        return out;
    }
    std::string describe() const override { return "scripted"; }

    struct Request {
        int unit;
        RegisterFunction function;
        uint16_t address;
        uint16_t count;
        Clock::Monotonic at;
    };
    std::map<Key, uint16_t> words;
    std::map<Key, std::pair<Error, int>> failures;  // error, how many times
    std::vector<Request> requests;

  private:
    fakes::FakeClock& clock_;
    bool open_ = false;
};

config::RegisterConfig reg(const std::string& name, uint16_t address, config::ValueType type,
                           RegisterFunction f = RegisterFunction::kHolding) {
    config::RegisterConfig r;
    r.name = name;
    r.address = address;
    r.type = type;
    r.function = f;
    return r;
}

class PollerTest : public ::testing::Test {
  protected:
    PollerTest() : transport(clock) {
        bus.name = "rs485-1";
        bus.link = config::RtuLink{"/dev/null", 9600, config::Parity::kNone, 8, 1};
        bus.retries = 1;
        bus.inter_request_delay = milliseconds(20);
        meter.name = "main-meter";
        meter.unit = 3;
        meter.max_gap = 2;
        meter.registers = {reg("voltage", 0, config::ValueType::kUint16),
                           reg("current", 1, config::ValueType::kInt16),
                           reg("energy", 100, config::ValueType::kUint32),
                           reg("relay", 5, config::ValueType::kBool, RegisterFunction::kCoil)};
        meter.registers[0].scale = 0.1;
    }
    BusLine line() {
        return BusLine(bus, transport, clock, [this](Clock::Monotonic when) {
            if (when > clock.now()) {
                clock.advance(std::chrono::duration_cast<milliseconds>(when - clock.now()));
            }
            return true;
        });
    }

    fakes::FakeClock clock;
    ScriptedTransport transport;
    config::BusConfig bus;
    config::MeterConfig meter;
};

TEST_F(PollerTest, OnePollGivesOneSampleWithEveryValueAndTheReadTime) {
    transport.words[{3, RegisterFunction::kHolding, 0}] = 2297;
    transport.words[{3, RegisterFunction::kHolding, 1}] = 0xFFFE;
    transport.words[{3, RegisterFunction::kHolding, 100}] = 0x0001;
    transport.words[{3, RegisterFunction::kHolding, 101}] = 0x0002;
    transport.words[{3, RegisterFunction::kCoil, 5}] = 1;
    MeterPoller poller(4, meter, bus.name, clock);
    auto l = line();
    const int64_t t0 = clock.wall_ms();
    auto outcome = poller.poll(l);
    ASSERT_TRUE(outcome.sample);
    EXPECT_EQ(outcome.sample->meter_index, 4u);
    EXPECT_EQ(outcome.sample->read_ms, t0);
    EXPECT_EQ(values_of(*outcome.sample).dump(),
              "{\"voltage\":229.7,\"current\":-2,\"energy\":65538,\"relay\":true}");
    EXPECT_TRUE(std::holds_alternative<double>(outcome.sample->readings[0].value));
    EXPECT_TRUE(std::holds_alternative<bool>(outcome.sample->readings[3].value));
    EXPECT_EQ(transport.requests.size(), 3u);  // coil 5; holding 0..1; holding 100..101
}

TEST_F(PollerTest, RequestsOnARtuLineAreSeparatedByTheInterRequestDelay) {
    MeterPoller poller(0, meter, bus.name, clock);
    auto l = line();
    poller.poll(l);
    ASSERT_EQ(transport.requests.size(), 3u);
    for (size_t i = 1; i < transport.requests.size(); ++i) {
        // each request takes 10 ms in the fake; the next starts 20 ms after it ended
        EXPECT_EQ(transport.requests[i].at - transport.requests[i - 1].at, milliseconds(30));
    }
}

TEST_F(PollerTest, IllegalAddressOnAMergedReadSplitsItAndKeepsTheReadableValues) {
    transport.words[{3, RegisterFunction::kHolding, 1}] = 0xFFFE;
    transport.words[{3, RegisterFunction::kHolding, 101}] = 7;
    // The meter refuses any read starting at 0 (voltage), however long.
    transport.failures[{3, RegisterFunction::kHolding, 0}] = {
        make_error(ErrorKind::kModbusException, "Modbus exception 2 (illegal data address)", 2),
        100};
    MeterPoller poller(0, meter, bus.name, clock);
    auto l = line();
    auto outcome = poller.poll(l);
    ASSERT_TRUE(outcome.sample);
    auto j = values_of(*outcome.sample);
    EXPECT_FALSE(j.contains("voltage"));  // fails on its own: reported by name
    EXPECT_EQ(outcome.sample->readings[0].name, "voltage");
    EXPECT_EQ(outcome.sample->readings[0].quality, Quality::kReadFailed);
    EXPECT_EQ(j["current"], -2);  // readable once split out of the merged read
    EXPECT_EQ(j["energy"], 7);
    EXPECT_EQ(j["relay"], false);
    EXPECT_EQ(poller.consecutive_failures(), 0);
    // The split is remembered: coil 5, holding 0, holding 1, holding 100..101.
    ASSERT_EQ(poller.plan().size(), 4u);
    EXPECT_EQ(poller.plan()[1].address, 0);
    EXPECT_EQ(poller.plan()[1].count, 1);
    EXPECT_EQ(poller.plan()[2].address, 1);
    transport.requests.clear();
    poller.poll(l);
    EXPECT_EQ(transport.requests.size(), 4u);
}

TEST_F(PollerTest, OtherExceptionsSkipOnlyThatRequestsRegisters) {
    transport.words[{3, RegisterFunction::kHolding, 101}] = 7;
    transport.failures[{3, RegisterFunction::kHolding, 0}] = {
        make_error(ErrorKind::kModbusException, "Modbus exception 4 (server device failure)", 4),
        100};
    MeterPoller poller(0, meter, bus.name, clock);
    auto l = line();
    auto outcome = poller.poll(l);
    ASSERT_TRUE(outcome.sample);
    auto j = values_of(*outcome.sample);
    EXPECT_FALSE(j.contains("voltage"));
    EXPECT_FALSE(j.contains("current"));
    EXPECT_EQ(outcome.sample->readings.size(), 4u);  // every register, with its quality
    EXPECT_EQ(j["energy"], 7);
    EXPECT_EQ(poller.plan().size(), 3u);  // not split: only exception 2 means "a hole"
}

TEST_F(PollerTest, ATimeoutIsRetriedOnceThenTheMeterIsSkippedThisRound) {
    transport.failures[{3, RegisterFunction::kCoil, 5}] = {
        make_error(ErrorKind::kTimeout, "no answer from unit 3 within 500 ms"), 100};
    MeterPoller poller(0, meter, bus.name, clock);
    auto l = line();
    auto outcome = poller.poll(l);
    EXPECT_FALSE(outcome.sample);  // no fake values
    EXPECT_FALSE(outcome.link_broken);
    EXPECT_EQ(transport.requests.size(), 2u);  // the first request and its one retry
    EXPECT_EQ(poller.consecutive_failures(), 1);
}

TEST_F(PollerTest, ARetryThatSucceedsGivesAFullSample) {
    transport.failures[{3, RegisterFunction::kCoil, 5}] = {
        make_error(ErrorKind::kBadResponse, "bad CRC"), 1};
    MeterPoller poller(0, meter, bus.name, clock);
    auto l = line();
    auto outcome = poller.poll(l);
    ASSERT_TRUE(outcome.sample);
    EXPECT_EQ(values_of(*outcome.sample).size(), 4u);
}

TEST_F(PollerTest, ABrokenLinkIsReported) {
    transport.failures[{3, RegisterFunction::kCoil, 5}] = {
        make_error(ErrorKind::kIo, "Input/output error"), 1};
    MeterPoller poller(0, meter, bus.name, clock);
    auto l = line();
    auto outcome = poller.poll(l);
    EXPECT_TRUE(outcome.link_broken);
    EXPECT_EQ(transport.requests.size(), 1u);
}

TEST_F(PollerTest, MetadataRegistersAreReadUntilTheySucceed) {
    meter.metadata_registers = {reg("serial_number", 64512, config::ValueType::kUint32)};
    transport.words[{3, RegisterFunction::kHolding, 64513}] = 123;
    transport.failures[{3, RegisterFunction::kHolding, 64512}] = {
        make_error(ErrorKind::kTimeout, "timeout"), 2};
    MeterPoller poller(1, meter, bus.name, clock);
    auto l = line();
    EXPECT_TRUE(poller.metadata_due());
    EXPECT_FALSE(poller.read_metadata(l));
    EXPECT_TRUE(poller.metadata_due());
    auto update = poller.read_metadata(l);
    ASSERT_TRUE(update);
    EXPECT_EQ(update->meter_index, 1u);
    EXPECT_EQ(update->keys, (nlohmann::json{{"serial_number", 123}}));
    EXPECT_FALSE(poller.metadata_due());
}

TEST_F(PollerTest, MetadataRegistersAreReadAgainEveryMetadataInterval) {
    meter.metadata_registers = {reg("tariff", 200, config::ValueType::kUint16)};
    meter.metadata_interval = std::chrono::seconds(10);
    transport.words[{3, RegisterFunction::kHolding, 200}] = 1;
    MeterPoller poller(0, meter, bus.name, clock);
    auto l = line();
    ASSERT_TRUE(poller.metadata_due());
    ASSERT_TRUE(poller.read_metadata(l));
    clock.advance(std::chrono::milliseconds(9900));
    EXPECT_FALSE(poller.metadata_due());
    clock.advance(std::chrono::milliseconds(100));
    ASSERT_TRUE(poller.metadata_due());
    transport.words[{3, RegisterFunction::kHolding, 200}] = 2;  // the tariff changed
    auto update = poller.read_metadata(l);
    ASSERT_TRUE(update);
    EXPECT_EQ(update->keys, (nlohmann::json{{"tariff", 2}}));
    EXPECT_FALSE(poller.metadata_due());
    // A periodic read that fails is tried again at the next poll, not an interval later.
    clock.advance(std::chrono::seconds(10));
    transport.failures[{3, RegisterFunction::kHolding, 200}] = {
        make_error(ErrorKind::kTimeout, "timeout"), 2};
    EXPECT_FALSE(poller.read_metadata(l));
    EXPECT_TRUE(poller.metadata_due());
    EXPECT_TRUE(poller.read_metadata(l));
}

}  // namespace
}  // namespace kaa::modbus
