// Simulated values: counters, wandering gauges, rounding, and the register bank that serves them.

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/clock.hpp"
#include "drivers/modbus/register_codec.hpp"
#include "drivers/simulator/modbus_frame.hpp"
#include "drivers/simulator/register_bank.hpp"
#include "drivers/simulator/value_model.hpp"
#include "tests/fakes/fake_clock.hpp"

namespace kaa::sim {
namespace {

using config::ByteOrder;
using config::RegisterFunction;
using config::ValueType;
using Bytes = std::vector<uint8_t>;

config::SimRegisterConfig make_reg(RegisterFunction f, uint16_t address, ValueType type,
                                   nlohmann::json value, double step = 0, double wander = 0) {
    config::SimRegisterConfig r;
    r.reg.function = f;
    r.reg.address = address;
    r.reg.type = type;
    r.reg.byte_order = ByteOrder::kABCD;
    r.value = std::move(value);
    r.step_per_second = step;
    r.wander = wander;
    return r;
}

double as_double(const modbus::Value& v) {
    if (const auto* d = std::get_if<double>(&v)) {
        return *d;
    }
    if (const auto* i = std::get_if<int64_t>(&v)) {
        return static_cast<double>(*i);
    }
    if (const auto* u = std::get_if<uint64_t>(&v)) {
        return static_cast<double>(*u);
    }
    ADD_FAILURE() << "not a number";
    return 0;
}

Bytes read_pdu(uint8_t fc, uint16_t address, uint16_t count) {
    return Bytes{fc, static_cast<uint8_t>(address >> 8), static_cast<uint8_t>(address),
                 static_cast<uint8_t>(count >> 8), static_cast<uint8_t>(count)};
}

TEST(SimValues, ConstantKeepsItsValue) {
    const ValueModel m(make_reg(RegisterFunction::kHolding, 0, ValueType::kFloat64, 229.7));
    EXPECT_FALSE(m.moving());
    EXPECT_EQ(std::get<double>(m.at(0)), 229.7);
    EXPECT_EQ(std::get<double>(m.at(1e6)), 229.7);
}

TEST(SimValues, CounterRisesWithElapsedTime) {
    const ValueModel m(make_reg(RegisterFunction::kInput, 0, ValueType::kFloat64, 100.0, 0.5));
    EXPECT_TRUE(m.moving());
    EXPECT_EQ(std::get<double>(m.at(0)), 100.0);
    EXPECT_EQ(std::get<double>(m.at(10)), 105.0);
    EXPECT_EQ(std::get<double>(m.at(3600)), 1900.0);
}

TEST(SimValues, IntegerCounterRounds) {
    const ValueModel m(make_reg(RegisterFunction::kInput, 0, ValueType::kUint32, 1000, 0.25));
    EXPECT_EQ(std::get<uint64_t>(m.at(0)), 1000u);
    EXPECT_EQ(std::get<uint64_t>(m.at(1)), 1000u);  // 1000.25
    EXPECT_EQ(std::get<uint64_t>(m.at(2)), 1001u);  // 1000.5 rounds away from zero
    EXPECT_EQ(std::get<uint64_t>(m.at(3)), 1001u);  // 1000.75
    EXPECT_EQ(std::get<uint64_t>(m.at(4)), 1001u);
}

TEST(SimValues, FractionalInitialOfIntegerTypeRounds) {
    const ValueModel m(make_reg(RegisterFunction::kHolding, 0, ValueType::kInt16, -12.6));
    EXPECT_EQ(std::get<int64_t>(m.at(0)), -13);
}

TEST(SimValues, NegativeInt16StaysNegative) {
    const ValueModel m(make_reg(RegisterFunction::kHolding, 0, ValueType::kInt16, -1234));
    EXPECT_EQ(std::get<int64_t>(m.at(5)), -1234);
}

TEST(SimValues, IntegerCounterClampsToItsType) {
    const ValueModel m(make_reg(RegisterFunction::kHolding, 0, ValueType::kUint16, 65530, 10));
    EXPECT_EQ(std::get<uint64_t>(m.at(100)), 65535u);
    const ValueModel down(make_reg(RegisterFunction::kHolding, 0, ValueType::kInt16, 0, -1000));
    EXPECT_EQ(std::get<int64_t>(down.at(100)), -32768);
}

TEST(SimValues, WanderStaysWithinBoundsAndMoves) {
    const double initial = 50.0;
    const double wander = 2.5;
    const ValueModel m(
        make_reg(RegisterFunction::kInput, 7, ValueType::kFloat32, initial, 0, wander));
    EXPECT_TRUE(m.moving());
    EXPECT_EQ(std::get<double>(m.at(0)), initial);
    double lo = initial;
    double hi = initial;
    for (int i = 0; i <= 6000; ++i) {
        const double v = std::get<double>(m.at(i * 0.1));
        ASSERT_GE(v, initial - wander) << i;
        ASSERT_LE(v, initial + wander) << i;
        lo = std::min(lo, v);
        hi = std::max(hi, v);
    }
    EXPECT_GT(hi - lo, wander);  // it really wanders, not just jitters
}

TEST(SimValues, WanderIsDeterministicAndSmooth) {
    const auto cfg = make_reg(RegisterFunction::kInput, 3, ValueType::kFloat64, 10.0, 0, 1.0);
    const ValueModel a(cfg);
    const ValueModel b(cfg);
    for (int i = 0; i < 100; ++i) {
        EXPECT_EQ(std::get<double>(a.at(i * 1.7)), std::get<double>(b.at(i * 1.7)));
        // Smooth: a tenth of a second never moves it by more than a few percent of the range.
        EXPECT_LT(std::abs(a.wander_offset(i + 0.1) - a.wander_offset(i)), 0.05);
    }
}

TEST(SimValues, NeighbouringAddressesWanderDifferently) {
    const ValueModel a(make_reg(RegisterFunction::kInput, 0, ValueType::kFloat64, 0.0, 0, 1.0));
    const ValueModel b(make_reg(RegisterFunction::kInput, 2, ValueType::kFloat64, 0.0, 0, 1.0));
    EXPECT_NE(a.wander_offset(13.0), b.wander_offset(13.0));
}

TEST(SimValues, IntegerWanderIsRoundedAndBounded) {
    const ValueModel m(make_reg(RegisterFunction::kHolding, 1, ValueType::kInt32, 100, 0, 3));
    for (int i = 0; i <= 600; ++i) {
        const int64_t v = std::get<int64_t>(m.at(i * 0.5));
        ASSERT_GE(v, 97);
        ASSERT_LE(v, 103);
    }
}

TEST(SimValues, CounterWithWanderCombines) {
    const ValueModel m(make_reg(RegisterFunction::kInput, 0, ValueType::kFloat64, 0.0, 1.0, 0.5));
    for (int t = 0; t < 300; t += 7) {
        const double v = std::get<double>(m.at(t));
        EXPECT_GE(v, t - 0.5);
        EXPECT_LE(v, t + 0.5);
    }
}

TEST(SimValues, BoolAndStringNeverMove) {
    const ValueModel coil(make_reg(RegisterFunction::kCoil, 0, ValueType::kBool, true, 1.0));
    EXPECT_FALSE(coil.moving());
    EXPECT_EQ(std::get<bool>(coil.at(100)), true);
    auto text = make_reg(RegisterFunction::kHolding, 0, ValueType::kString, "ABC", 1.0, 1.0);
    text.reg.length = 2;
    const ValueModel s(text);
    EXPECT_FALSE(s.moving());
    EXPECT_EQ(std::get<std::string>(s.at(100)), "ABC");
}

TEST(SimBank, CounterReadThroughPduFollowsInjectedClock) {
    fakes::FakeClock clock;
    config::SimUnitConfig unit;
    unit.registers.push_back(
        make_reg(RegisterFunction::kInput, 10, ValueType::kUint32, 70000, 2.0));
    RegisterBank bank(unit, clock);
    EXPECT_EQ(bank.handle(read_pdu(4, 10, 2)), (Bytes{0x04, 0x04, 0x00, 0x01, 0x11, 0x70}));
    clock.advance(std::chrono::seconds(100));  // 70200 = 0x00011238
    EXPECT_EQ(bank.handle(read_pdu(4, 10, 2)), (Bytes{0x04, 0x04, 0x00, 0x01, 0x12, 0x38}));
    clock.advance(std::chrono::milliseconds(250));  // 70200.5 rounds up
    EXPECT_EQ(bank.read(RegisterFunction::kInput, 11, 1), (std::vector<uint16_t>{0x1239}));
}

TEST(SimBank, HolesReadZeroAndTablesAreSeparate) {
    fakes::FakeClock clock;
    config::SimUnitConfig unit;
    unit.registers.push_back(make_reg(RegisterFunction::kHolding, 1, ValueType::kUint16, 7));
    unit.registers.push_back(make_reg(RegisterFunction::kCoil, 2, ValueType::kBool, true));
    RegisterBank bank(unit, clock);
    EXPECT_EQ(bank.handle(read_pdu(3, 0, 3)), (Bytes{0x03, 0x06, 0, 0, 0, 7, 0, 0}));
    EXPECT_EQ(bank.handle(read_pdu(4, 0, 3)), (Bytes{0x04, 0x06, 0, 0, 0, 0, 0, 0}));
    EXPECT_EQ(bank.handle(read_pdu(1, 0, 4)), (Bytes{0x01, 0x01, 0x04}));
    EXPECT_EQ(bank.handle(read_pdu(2, 0, 4)), (Bytes{0x02, 0x01, 0x00}));
    EXPECT_EQ(bank.stored_entries(), 2u);
}

TEST(SimBank, IllegalHolesAnswerException02) {
    fakes::FakeClock clock;
    config::SimUnitConfig unit;
    unit.illegal_holes = true;
    unit.registers.push_back(make_reg(RegisterFunction::kHolding, 1, ValueType::kUint32, 7));
    RegisterBank bank(unit, clock);
    EXPECT_EQ(bank.handle(read_pdu(3, 1, 2)), (Bytes{0x03, 0x04, 0, 0, 0, 7}));
    EXPECT_EQ(bank.handle(read_pdu(3, 0, 2)), (Bytes{0x83, 0x02}));
    EXPECT_EQ(bank.handle(read_pdu(3, 2, 2)), (Bytes{0x83, 0x02}));
    EXPECT_EQ(bank.handle(read_pdu(4, 1, 1)), (Bytes{0x84, 0x02}));
    EXPECT_EQ(bank.handle(Bytes{0x06, 0x00, 0x05, 0x00, 0x01}), (Bytes{0x86, 0x02}));
}

TEST(SimBank, AddressRangeBeyondTableIsException02) {
    fakes::FakeClock clock;
    RegisterBank bank(config::SimUnitConfig{}, clock);
    EXPECT_EQ(bank.handle(read_pdu(3, 0xFFFF, 1)), (Bytes{0x03, 0x02, 0, 0}));
    EXPECT_EQ(bank.handle(read_pdu(3, 0xFFFF, 2)), (Bytes{0x83, 0x02}));
    EXPECT_EQ(bank.handle(read_pdu(1, 0xFFF0, 17)), (Bytes{0x81, 0x02}));
}

TEST(SimBank, BadQuantityAndUnsupportedFunction) {
    fakes::FakeClock clock;
    RegisterBank bank(config::SimUnitConfig{}, clock);
    EXPECT_EQ(bank.handle(read_pdu(3, 0, 126)), (Bytes{0x83, 0x03}));
    EXPECT_EQ(bank.handle(read_pdu(1, 0, 2001)), (Bytes{0x81, 0x03}));
    EXPECT_EQ(bank.handle(Bytes{0x2B, 0x0E, 0x01, 0x00}), (Bytes{0xAB, 0x01}));
}

TEST(SimBank, WritesAreReadBackAndPinMovingValues) {
    fakes::FakeClock clock;
    config::SimUnitConfig unit;
    unit.registers.push_back(make_reg(RegisterFunction::kHolding, 0, ValueType::kUint16, 5, 1));
    RegisterBank bank(unit, clock);
    EXPECT_EQ(bank.handle(Bytes{0x06, 0x00, 0x00, 0x01, 0x00}),
              (Bytes{0x06, 0x00, 0x00, 0x01, 0x00}));
    clock.advance(std::chrono::seconds(30));
    EXPECT_EQ(bank.read(RegisterFunction::kHolding, 0, 1), (std::vector<uint16_t>{0x0100}));
    EXPECT_EQ(bank.handle(Bytes{0x10, 0x00, 0x08, 0x00, 0x02, 0x04, 0xAB, 0xCD, 0x00, 0x01}),
              (Bytes{0x10, 0x00, 0x08, 0x00, 0x02}));
    EXPECT_EQ(bank.read(RegisterFunction::kHolding, 8, 2), (std::vector<uint16_t>{0xABCD, 1}));
    EXPECT_EQ(bank.handle(Bytes{0x05, 0x00, 0x03, 0xFF, 0x00}),
              (Bytes{0x05, 0x00, 0x03, 0xFF, 0x00}));
    EXPECT_EQ(bank.handle(Bytes{0x0F, 0x00, 0x04, 0x00, 0x03, 0x01, 0x05}),
              (Bytes{0x0F, 0x00, 0x04, 0x00, 0x03}));
    EXPECT_EQ(bank.handle(read_pdu(1, 3, 4)), (Bytes{0x01, 0x01, 0x0B}));
}

TEST(SimBank, ManyUnitsStaySmall) {
    fakes::FakeClock clock;
    std::vector<RegisterBank> banks;
    for (int u = 0; u < 100; ++u) {
        config::SimUnitConfig unit;
        for (uint16_t a = 0; a < 40; a += 2) {
            unit.registers.push_back(
                make_reg(RegisterFunction::kInput, a, ValueType::kFloat32, 1.5 * a, 0.1));
        }
        banks.emplace_back(unit, clock);
    }
    size_t entries = 0;
    for (const auto& b : banks) {
        entries += b.stored_entries();
    }
    EXPECT_EQ(entries, 100u * 40u);
    EXPECT_NEAR(as_double(modbus::decode_words(
                    make_reg(RegisterFunction::kInput, 4, ValueType::kFloat32, 0).reg,
                    banks[0].read(RegisterFunction::kInput, 4, 2))),
                6.0, 1e-9);
}

}  // namespace
}  // namespace kaa::sim
