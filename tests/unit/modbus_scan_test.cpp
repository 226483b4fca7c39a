// The scan of `kaa-gateway scan` on a fake bus in simulated time: unit lists, the estimate,
// which units count as present, a lost link reopened, and profiles told by fingerprints.
#include "drivers/modbus/scan.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <tuple>

#include "drivers/modbus/fingerprint.hpp"
#include "drivers/modbus/libmodbus_transport.hpp"
#include "tests/fakes/fake_clock.hpp"

namespace kaa::modbus {
namespace {

using std::chrono::milliseconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr milliseconds kTimeout{200};
constexpr milliseconds kExchange{5};

/// A bus of units that answer from a table, refuse with an exception, drop the link, or
/// are silent (every unit not listed); each request moves the fake clock as a wire would.
class ScanBus final : public MeterTransport {
  public:
    /// What one unit does.
    struct Unit {
        std::map<std::pair<config::RegisterFunction, uint16_t>, uint16_t> words;
        std::optional<Error> error;  // answers every read with it
        int drops = 0;               // the first `drops` reads break the link
    };

    explicit ScanBus(fakes::FakeClock& clock) : clock_(clock) {}

    Status open() override {
        ++opens;
        if (failing_opens > 0) {
            --failing_opens;
            return make_error(ErrorKind::kIo, "connection refused (fake)");
        }
        opened = true;
        return {};
    }
    void close() override { opened = false; }
    bool is_open() const override { return opened; }
    Result<std::vector<uint16_t>> read(int unit, config::RegisterFunction function,
                                       uint16_t address, uint16_t count) override {
        requests.emplace_back(unit, function, address, count);
        const auto it = units.find(unit);
        if (it == units.end()) {
            clock_.advance(kTimeout);
            return make_error(ErrorKind::kTimeout, "no answer from unit " + std::to_string(unit));
        }
        clock_.advance(kExchange);
        Unit& u = it->second;
        if (u.drops > 0) {
            --u.drops;
            opened = false;
            return make_error(ErrorKind::kIo, "connection reset by peer (fake)");
        }
        if (u.error)
            return *u.error;
        std::vector<uint16_t> out;
        for (uint16_t i = 0; i < count; ++i) {
            const auto w = u.words.find({function, static_cast<uint16_t>(address + i)});
            if (w == u.words.end())
                return make_error(ErrorKind::kModbusException, describe_exception(2), 2);
            out.push_back(w->second);
        }
        return out;
    }
    std::string describe() const override { return "tcp 127.0.0.1:5020"; }

    std::map<int, Unit> units;
    int failing_opens = 0;
    int opens = 0;
    bool opened = false;
    std::vector<std::tuple<int, config::RegisterFunction, uint16_t, uint16_t>> requests;

  private:
    fakes::FakeClock& clock_;
};

config::BusConfig tcp_bus() {
    config::BusConfig bus;
    bus.name = "scan";
    bus.link = config::TcpLink{"127.0.0.1", 5020};
    bus.timeout = kTimeout;
    bus.retries = 0;
    return bus;
}

/// A unit that answers holding register 0.
ScanBus::Unit answering(uint16_t word = 1) {
    ScanBus::Unit u;
    u.words[{config::RegisterFunction::kHolding, 0}] = word;
    return u;
}

ScanBus::Unit refusing(int code) {
    ScanBus::Unit u;
    u.error = make_error(ErrorKind::kModbusException, describe_exception(code), code);
    return u;
}

/// A fingerprint check of one register.
config::FingerprintCheck check(config::RegisterFunction function, uint16_t address,
                               config::ValueType type, config::FingerprintTest test) {
    config::FingerprintCheck c;
    c.reg.function = function;
    c.reg.address = address;
    c.reg.type = type;
    c.test = test;
    return c;
}

config::MeterProfile profile(const std::string& id, std::vector<config::FingerprintCheck> checks) {
    config::MeterProfile p;
    p.id = id;
    p.maker = "Acme";
    p.model = id;
    p.fingerprint = std::move(checks);
    return p;
}

TEST(ModbusScan, UnitListsTakeRangesListsAndSingleUnits) {
    EXPECT_EQ(parse_unit_list("1-247").value().size(), 247u);
    EXPECT_THAT(parse_unit_list("1,2,5").value(), ElementsAre(1, 2, 5));
    EXPECT_THAT(parse_unit_list("3").value(), ElementsAre(3));
    EXPECT_THAT(parse_unit_list("7,1-3,2").value(), ElementsAre(1, 2, 3, 7));
    for (const char* bad : {"0", "248", "a", "5-3", "", "1,,2", "1-", "-4", "1 ,2", "0x10"}) {
        const auto r = parse_unit_list(bad);
        EXPECT_FALSE(r.ok()) << bad;
        if (!r.ok()) {
            EXPECT_THAT(r.error().message, HasSubstr("--units '" + std::string(bad) + "'"));
        }
    }
    EXPECT_THAT(parse_unit_list("0").error().message, HasSubstr("broadcast"));
    EXPECT_EQ(format_unit_list(parse_unit_list("1-247").value()), "1-247");
    EXPECT_EQ(format_unit_list({1, 2, 3, 7, 9, 10}), "1-3,7,9,10");
    EXPECT_EQ(format_unit_list({5}), "5");
}

TEST(ModbusScan, TheEstimateCountsEveryUnitSilent) {
    config::BusConfig rtu;
    rtu.link = config::RtuLink{"/dev/ttyUSB0", 9600, config::Parity::kNone, 8, 1};
    rtu.timeout = milliseconds(300);
    rtu.inter_request_delay = milliseconds(20);
    // 300 ms + 8 bytes of 10 bits at 9600 baud (8.333 ms) + 20 ms silence, 247 times.
    EXPECT_EQ(scan_estimate(rtu, 247), milliseconds(81099));
    EXPECT_EQ(estimate_line(rtu, parse_unit_list("1-247").value()),
              "scanning units 1-247 at 9600 baud: at most 82 s (300 ms for each unit that does "
              "not answer)");
    EXPECT_EQ(estimate_line(tcp_bus(), {3}),
              "scanning unit 3 on tcp 127.0.0.1:5020: at most 1 s (200 ms for each unit that "
              "does not answer)");
    EXPECT_EQ(scan_estimate(tcp_bus(), 10), milliseconds(2000));
}

TEST(ModbusScan, AnyAnswerButATimeoutOrAGatewaysSilenceCountsAsPresent) {
    fakes::FakeClock clock;
    ScanBus wire(clock);
    wire.units[2] = answering();
    wire.units[7] = refusing(2);
    wire.units[8] = refusing(11);  // a Modbus gateway: nothing behind it answered
    wire.units[9] = refusing(10);
    std::vector<ScanProgress> seen;
    const auto units = parse_unit_list("1-10").value();
    const auto start = clock.now();
    const ScanResult r = scan_units(tcp_bus(), wire, clock, units, {},
                                    [&](const ScanProgress& p) { seen.push_back(p); });
    ASSERT_EQ(r.found.size(), 2u);
    EXPECT_EQ(r.found[0].unit, 2);
    EXPECT_EQ(r.found[0].answer, "registers");
    EXPECT_EQ(r.found[1].unit, 7);
    EXPECT_EQ(r.found[1].answer, "Modbus exception 2 (illegal data address)");
    EXPECT_FALSE(r.link_error);
    ASSERT_EQ(seen.size(), 10u);
    EXPECT_EQ(seen.back().done, 10u);
    EXPECT_EQ(seen.back().found, 2u);
    EXPECT_EQ(seen[6].unit, 7);
    EXPECT_EQ(progress_line(seen.back()), "scanned 10 of 10 units (last 10), 2 answered");
    // One request per unit: six silent ones cost their timeouts, within the estimate.
    EXPECT_EQ(wire.requests.size(), 10u);
    EXPECT_LE(clock.now() - start, scan_estimate(tcp_bus(), units.size()));
    EXPECT_FALSE(wire.opened);

    const ScanOutcome out = scan_report(r, units);
    EXPECT_EQ(out.exit_code, 0);
    EXPECT_EQ(out.text,
              "unit 2: registers\n"
              "unit 7: Modbus exception 2 (illegal data address)\n"
              "2 units answered: 2, 7\n");
    EXPECT_EQ(out.error, "");
}

TEST(ModbusScan, NoAnswerIsExitOne) {
    fakes::FakeClock clock;
    ScanBus wire(clock);
    const auto units = parse_unit_list("1,2,5").value();
    const ScanResult r = scan_units(tcp_bus(), wire, clock, units, {}, nullptr);
    const ScanOutcome out = scan_report(r, units);
    EXPECT_EQ(out.exit_code, 1);
    EXPECT_EQ(out.text, "no unit of 1,2,5 answered\n");
}

TEST(ModbusScan, ALostLinkIsReopenedAndTheUnitAskedAgainOnce) {
    fakes::FakeClock clock;
    ScanBus wire(clock);
    wire.units[3] = answering();
    wire.units[3].drops = 1;  // reopened, then it answers
    wire.units[4] = answering();
    wire.units[4].drops = 2;  // drops both times: counted as silent, the scan goes on
    wire.units[5] = answering();
    const auto units = parse_unit_list("3-5").value();
    const ScanResult r = scan_units(tcp_bus(), wire, clock, units, {}, nullptr);
    ASSERT_EQ(r.found.size(), 2u);
    EXPECT_EQ(r.found[0].unit, 3);
    EXPECT_EQ(r.found[1].unit, 5);
    EXPECT_EQ(wire.opens, 4);  // first, after unit 3's drop, after each of unit 4's drops
    EXPECT_EQ(wire.requests.size(), 5u);
    ASSERT_EQ(r.notes.size(), 1u);
    EXPECT_THAT(r.notes[0], HasSubstr("unit 4: the link dropped both times it was asked"));
    EXPECT_THAT(scan_report(r, units).text, HasSubstr("note: unit 4: the link dropped"));
}

TEST(ModbusScan, ALinkThatWillNotReopenStopsTheScanWithExitTwo) {
    fakes::FakeClock clock;
    ScanBus wire(clock);
    wire.units[1] = answering();
    wire.units[2] = answering();
    wire.units[2].drops = 1;
    const auto units = parse_unit_list("1-5").value();
    // The first open works; the one after unit 2's drop fails.
    std::vector<ScanProgress> seen;
    const ScanResult r = scan_units(tcp_bus(), wire, clock, units, {}, [&](const ScanProgress& p) {
        seen.push_back(p);
        if (p.unit == 1)
            wire.failing_opens = 5;
    });
    ASSERT_TRUE(r.link_error);
    EXPECT_EQ(r.link_error->message, "connection refused (fake)");
    ASSERT_EQ(r.found.size(), 1u);
    EXPECT_EQ(seen.size(), 1u);
    const ScanOutcome out = scan_report(r, units);
    EXPECT_EQ(out.exit_code, 2);
    EXPECT_EQ(out.text, "unit 1: registers\n1 unit answered: 1\n");
    EXPECT_EQ(out.error, "scan stopped: connection refused (fake)\n");
}

TEST(ModbusScan, FingerprintsNameTheProfilesAUnitMayBeAndShareTheirReads) {
    using F = config::RegisterFunction;
    using T = config::ValueType;
    fakes::FakeClock clock;
    ScanBus wire(clock);
    wire.units[2] = answering();
    wire.units[2].words[{F::kHolding, 0xFC02}] = 0x0070;
    wire.units[2].words[{F::kInput, 5}] = 1;
    wire.units[7] = refusing(1);  // refuses everything: present, but no profile
    wire.units[9] = answering();
    wire.units[9].words[{F::kHolding, 0x8960}] = 0x4232;  // "B23 "
    wire.units[9].words[{F::kHolding, 0x8961}] = 0x3320;

    auto code = [&](uint64_t value) {
        auto c = check(F::kHolding, 0xFC02, T::kUint16, config::FingerprintTest::kOneOf);
        c.one_of = {value};
        return c;
    };
    auto text = check(F::kHolding, 0x8960, T::kString, config::FingerprintTest::kOneOf);
    text.reg.length = 2;
    text.one_of = {"B21", "B23"};
    const auto readable = check(F::kInput, 5, T::kUint16, config::FingerprintTest::kReadable);
    const std::vector<config::MeterProfile> profiles = {
        profile("acme-630", {code(0x70)}),
        profile("acme-72", {code(0x89)}),
        profile("acme-630-input", {code(0x70), readable}),
        profile("acme-b23", {text}),
        profile("acme-unprinted", {}),
    };
    const auto units = parse_unit_list("2,7,9").value();
    const ScanResult r = scan_units(tcp_bus(), wire, clock, units, profiles, nullptr);
    ASSERT_EQ(r.found.size(), 3u);
    EXPECT_THAT(r.found[0].profiles,
                ElementsAre("acme-630 (Acme acme-630)", "acme-630-input (Acme acme-630-input)"));
    EXPECT_THAT(r.found[1].profiles, ElementsAre());
    EXPECT_THAT(r.found[2].profiles, ElementsAre("acme-b23 (Acme acme-b23)"));
    // Unit 2: presence, 0xFC02 once for three profiles, input 5, and the string.
    const auto reads_of = [&](int unit) {
        return std::count_if(wire.requests.begin(), wire.requests.end(),
                             [&](const auto& q) { return std::get<0>(q) == unit; });
    };
    EXPECT_EQ(reads_of(2), 4);
    EXPECT_EQ(scan_report(r, units).text,
              "unit 2: registers; may be acme-630 (Acme acme-630), acme-630-input (Acme "
              "acme-630-input)\n"
              "unit 7: Modbus exception 1 (illegal function)\n"
              "unit 9: registers; may be acme-b23 (Acme acme-b23)\n"
              "3 units answered: 2, 7, 9\n");
}

TEST(ModbusFingerprint, ChecksDecodeAsTheirTypeAndTestTheValue) {
    using F = config::RegisterFunction;
    using T = config::ValueType;
    auto range = check(F::kInput, 0x000B, T::kUint16, config::FingerprintTest::kRange);
    range.min = 1648;
    range.max = 1653;
    EXPECT_TRUE(fingerprint_holds(range, std::vector<uint16_t>{1650}));
    EXPECT_FALSE(fingerprint_holds(range, std::vector<uint16_t>{1654}));
    EXPECT_FALSE(fingerprint_holds(range, std::vector<uint16_t>{1650, 1}));
    range.min.reset();
    EXPECT_TRUE(fingerprint_holds(range, std::vector<uint16_t>{3}));
    EXPECT_FALSE(fingerprint_holds(range, make_error(ErrorKind::kTimeout, "silent")));

    auto f32 = check(F::kInput, 0, T::kFloat32, config::FingerprintTest::kOneOf);
    f32.one_of = {229.7};
    EXPECT_TRUE(fingerprint_holds(f32, std::vector<uint16_t>{0x4365, 0xB333}));
    f32.reg.byte_order = config::ByteOrder::kCDAB;
    EXPECT_TRUE(fingerprint_holds(f32, std::vector<uint16_t>{0xB333, 0x4365}));
    EXPECT_EQ(fingerprint_read(f32).count, 2);

    auto signed16 = check(F::kHolding, 1, T::kInt16, config::FingerprintTest::kOneOf);
    signed16.one_of = {-2, int64_t{7}};
    EXPECT_TRUE(fingerprint_holds(signed16, std::vector<uint16_t>{0xFFFE}));
    EXPECT_FALSE(fingerprint_holds(signed16, std::vector<uint16_t>{0xFFFD}));

    auto text = check(F::kHolding, 0x8960, T::kString, config::FingerprintTest::kOneOf);
    text.reg.length = 3;
    text.one_of = {"B23 "};
    EXPECT_TRUE(fingerprint_holds(text, std::vector<uint16_t>{0x4232, 0x3320, 0x2020}));
    EXPECT_FALSE(fingerprint_holds(text, std::vector<uint16_t>{0x4232, 0x3420, 0x2020}));

    const auto readable = check(F::kCoil, 4, T::kBool, config::FingerprintTest::kReadable);
    EXPECT_EQ(fingerprint_read(readable).count, 1);
    EXPECT_TRUE(fingerprint_holds(readable, std::vector<uint16_t>{0}));
    EXPECT_FALSE(fingerprint_holds(
        readable, make_error(ErrorKind::kModbusException, describe_exception(2), 2)));
}

}  // namespace
}  // namespace kaa::modbus
