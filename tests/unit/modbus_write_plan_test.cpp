// Write commands: values checked against the writable registers, inverse scaling and byte
// orders (a round trip through the decoder for every type and order), and refusals.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "drivers/modbus/register_codec.hpp"
#include "drivers/modbus/write_plan.hpp"

namespace kaa::modbus {
namespace {

using config::ByteOrder;
using config::RegisterFunction;
using config::ValueType;
using nlohmann::json;
using ::testing::HasSubstr;

config::WritableConfig writable(const std::string& name, ValueType type,
                                ByteOrder order = ByteOrder::kABCD, double scale = 1.0,
                                double offset = 0.0) {
    config::WritableConfig w;
    w.reg.name = name;
    w.reg.address = 40;
    w.reg.type = type;
    w.reg.byte_order = order;
    w.reg.scale = scale;
    w.reg.offset = offset;
    return w;
}

/// The value the decoder reads back from what a write would store.
double read_back(const config::WritableConfig& w, const WriteRequest& request) {
    const Value v = apply_scale(decode_words(w.reg, request.words), w.reg.scale, w.reg.offset);
    return std::visit(
        [](const auto& x) -> double {
            if constexpr (std::is_arithmetic_v<std::decay_t<decltype(x)>>)
                return static_cast<double>(x);
            else
                return -1e300;
        },
        v);
}

TEST(WritePlan, EveryTypeAndByteOrderRoundTripsThroughTheDecoder) {
    struct Case {
        ValueType type;
        double scale;
        double offset;
        double value;
    };
    const Case cases[] = {
        {ValueType::kUint16, 0.1, 0.0, 229.7},
        {ValueType::kInt16, 0.01, 0.0, -12.34},
        {ValueType::kUint32, 1.0, -100.0, 65636.0},
        {ValueType::kInt32, 0.5, 0.0, -70000.5},
        {ValueType::kUint64, 0.01, 0.0, 1234567.89},
        {ValueType::kInt64, 1.0, 0.0, -5e12},
        {ValueType::kFloat32, 1.0, 0.0, 21.5},
        {ValueType::kFloat32, 10.0, 2.0, 52.0},
        {ValueType::kFloat64, 1.0, 0.0, 0.1234567890123},
    };
    for (const Case& c : cases) {
        for (ByteOrder order :
             {ByteOrder::kABCD, ByteOrder::kCDAB, ByteOrder::kBADC, ByteOrder::kDCBA}) {
            const auto w = writable("x", c.type, order, c.scale, c.offset);
            auto request = plan_write(w, json(c.value));
            ASSERT_TRUE(request) << request.error().message;
            EXPECT_EQ(request.value().words.size(),
                      static_cast<size_t>(config::register_count(c.type, 0)));
            EXPECT_NEAR(read_back(w, request.value()), c.value, 1e-9 * std::abs(c.value))
                << config::to_string(c.type) << " " << config::to_string(order);
            EXPECT_EQ(request.value().multiple, request.value().words.size() > 1);
        }
    }
}

TEST(WritePlan, OneRegisterIsFunction06UnlessTheRegisterAsksFor16) {
    auto w = writable("setpoint", ValueType::kUint16, ByteOrder::kABCD, 0.1);
    auto single = plan_write(w, json(21.5));
    ASSERT_TRUE(single);
    EXPECT_EQ(single.value().words, std::vector<uint16_t>{215});
    EXPECT_FALSE(single.value().multiple);
    w.write_multiple = true;
    EXPECT_TRUE(plan_write(w, json(21.5)).value().multiple);
}

TEST(WritePlan, ValuesOutOfRangeBetweenStepsOrOfTheWrongKindAreRefusedByName) {
    auto w = writable("setpoint", ValueType::kUint16, ByteOrder::kABCD, 0.1);
    w.min = 5.0;
    w.max = 95.5;
    EXPECT_THAT(plan_write(w, json(96)).error().message,
                HasSubstr("'setpoint': 96 is above its max 95.5"));
    EXPECT_THAT(plan_write(w, json(4.9)).error().message, HasSubstr("is below its min 5"));
    EXPECT_THAT(plan_write(w, json(21.55)).error().message,
                HasSubstr("falls between two values the register holds (steps of 0.1)"));
    EXPECT_THAT(plan_write(w, json("21")).error().message,
                HasSubstr("'setpoint': \"21\" is not a number (uint16 register)"));
    const auto raw = writable("raw", ValueType::kInt16);
    EXPECT_THAT(plan_write(raw, json(40000)).error().message,
                HasSubstr("is outside what int16 with scale 1 and offset 0 holds (-32768..32767)"));
    auto coil = writable("relay", ValueType::kBool);
    coil.reg.function = RegisterFunction::kCoil;
    EXPECT_EQ(plan_write(coil, json(true)).value().words, std::vector<uint16_t>{1});
    EXPECT_EQ(plan_write(coil, json(0)).value().words, std::vector<uint16_t>{0});
    EXPECT_THAT(plan_write(coil, json(2)).error().message,
                HasSubstr("'relay' is a coil: give true or false, got 2"));
}

TEST(WritePlan, ACommandWithOneInvalidEntryPlansNothingAndNamesEveryProblem) {
    config::MeterConfig meter;
    meter.registers.push_back(config::RegisterConfig{});
    meter.registers.back().name = "voltage";
    meter.writable = {writable("setpoint", ValueType::kUint16, ByteOrder::kABCD, 0.1),
                      writable("mode", ValueType::kUint16)};
    meter.writable[1].max = 3.0;

    auto ok = plan_write_command(meter, json{{"setpoint", 20.5}, {"mode", 2}});
    ASSERT_TRUE(ok) << ok.error().message;
    ASSERT_EQ(ok.value().size(), 2u);
    EXPECT_EQ(ok.value()[0].writable->reg.name, "mode");  // JSON objects iterate by name
    EXPECT_EQ(ok.value()[1].request.words, std::vector<uint16_t>{205});

    auto bad = plan_write_command(
        meter, json{{"setpoint", 20.5}, {"mode", 7}, {"voltage", 1}, {"nonsense", 1}});
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message,
              "nothing written: 'mode': 7 is above its max 3; 'nonsense' is not a register of "
              "this meter; 'voltage' is read-only (not in writable:); writable: setpoint, mode");
    EXPECT_THAT(plan_write_command(meter, json::array()).error().message,
                HasSubstr("a write command is an object of \"<register>\": value"));
    EXPECT_FALSE(plan_write_command(meter, json::object()));
}

}  // namespace
}  // namespace kaa::modbus
