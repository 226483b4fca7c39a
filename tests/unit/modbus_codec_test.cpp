// Register codec: every type in every byte order against hand-computed register words.
#include "drivers/modbus/register_codec.hpp"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace kaa::modbus {
namespace {

using config::ByteOrder;
using config::RegisterConfig;
using config::ValueType;

constexpr ByteOrder kAllOrders[] = {ByteOrder::kABCD, ByteOrder::kCDAB, ByteOrder::kBADC,
                                    ByteOrder::kDCBA};

/// A register of the given type and byte order at address 0.
RegisterConfig reg_of(ValueType type, ByteOrder order, int length = 0) {
    RegisterConfig reg;
    reg.name = "r";
    reg.type = type;
    reg.byte_order = order;
    reg.length = length;
    return reg;
}

/// One literal register image and the value it must decode to.
struct Case {
    ValueType type;
    ByteOrder order;
    std::vector<uint16_t> words;
    Value expected;
    int length = 0;
};

/// The value as JSON text, for failure messages.
std::string text_of(const Value& v) {
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    std::visit([&](const auto& x) { j["v"] = x; }, v);
    return j["v"].dump();
}

/// A case as text, for failure messages.
std::string describe(const Case& c) {
    std::string s =
        std::string(config::to_string(c.type)) + " " + config::to_string(c.order) + " words:";
    for (uint16_t w : c.words) {
        char buf[8];
        std::snprintf(buf, sizeof buf, " %04x", w);
        s += buf;
    }
    return s;
}

// Decoding each case gives the expected value; encoding the value gives the same words.
void check_cases(const std::vector<Case>& cases) {
    for (const Case& c : cases) {
        SCOPED_TRACE(describe(c));
        const RegisterConfig reg = reg_of(c.type, c.order, c.length);
        EXPECT_EQ(decode_words(reg, c.words), c.expected);
        EXPECT_EQ(encode_words(reg, c.expected), c.words);
    }
}

TEST(ModbusCodec, BoolFromRegisterInEveryOrder) {
    for (ByteOrder order : kAllOrders) {
        SCOPED_TRACE(config::to_string(order));
        const RegisterConfig reg = reg_of(ValueType::kBool, order);
        const std::vector<uint16_t> zero = {0x0000};
        const std::vector<uint16_t> low = {0x0001};
        const std::vector<uint16_t> high = {0x0100};
        const std::vector<uint16_t> all = {0xFFFF};
        EXPECT_EQ(decode_words(reg, zero), Value(false));
        EXPECT_EQ(decode_words(reg, low), Value(true));
        EXPECT_EQ(decode_words(reg, high), Value(true));
        EXPECT_EQ(decode_words(reg, all), Value(true));
        EXPECT_EQ(encode_words(reg, Value(false)), zero);
    }
    EXPECT_EQ(encode_words(reg_of(ValueType::kBool, ByteOrder::kABCD), Value(true)),
              std::vector<uint16_t>{0x0001});
    EXPECT_EQ(encode_words(reg_of(ValueType::kBool, ByteOrder::kCDAB), Value(true)),
              std::vector<uint16_t>{0x0001});
    EXPECT_EQ(encode_words(reg_of(ValueType::kBool, ByteOrder::kBADC), Value(true)),
              std::vector<uint16_t>{0x0100});
    EXPECT_EQ(encode_words(reg_of(ValueType::kBool, ByteOrder::kDCBA), Value(true)),
              std::vector<uint16_t>{0x0100});
}

TEST(ModbusCodec, Int16InEveryOrder) {
    // -2 = 0xFFFE; 4660 = 0x1234; -32768 = 0x8000.
    check_cases({
        {ValueType::kInt16, ByteOrder::kABCD, {0xFFFE}, Value(int64_t{-2})},
        {ValueType::kInt16, ByteOrder::kCDAB, {0xFFFE}, Value(int64_t{-2})},
        {ValueType::kInt16, ByteOrder::kBADC, {0xFEFF}, Value(int64_t{-2})},
        {ValueType::kInt16, ByteOrder::kDCBA, {0xFEFF}, Value(int64_t{-2})},
        {ValueType::kInt16, ByteOrder::kABCD, {0x1234}, Value(int64_t{4660})},
        {ValueType::kInt16, ByteOrder::kCDAB, {0x1234}, Value(int64_t{4660})},
        {ValueType::kInt16, ByteOrder::kBADC, {0x3412}, Value(int64_t{4660})},
        {ValueType::kInt16, ByteOrder::kDCBA, {0x3412}, Value(int64_t{4660})},
        {ValueType::kInt16, ByteOrder::kABCD, {0x8000}, Value(int64_t{-32768})},
        {ValueType::kInt16, ByteOrder::kDCBA, {0x0080}, Value(int64_t{-32768})},
    });
}

TEST(ModbusCodec, Uint16InEveryOrder) {
    // 43981 = 0xABCD; 65535 = 0xFFFF.
    check_cases({
        {ValueType::kUint16, ByteOrder::kABCD, {0xABCD}, Value(uint64_t{43981})},
        {ValueType::kUint16, ByteOrder::kCDAB, {0xABCD}, Value(uint64_t{43981})},
        {ValueType::kUint16, ByteOrder::kBADC, {0xCDAB}, Value(uint64_t{43981})},
        {ValueType::kUint16, ByteOrder::kDCBA, {0xCDAB}, Value(uint64_t{43981})},
        {ValueType::kUint16, ByteOrder::kABCD, {0xFFFF}, Value(uint64_t{65535})},
    });
}

TEST(ModbusCodec, Int32InEveryOrder) {
    // -123456789 = 0xF8A432EB; 305419896 = 0x12345678.
    check_cases({
        {ValueType::kInt32, ByteOrder::kABCD, {0xF8A4, 0x32EB}, Value(int64_t{-123456789})},
        {ValueType::kInt32, ByteOrder::kCDAB, {0x32EB, 0xF8A4}, Value(int64_t{-123456789})},
        {ValueType::kInt32, ByteOrder::kBADC, {0xA4F8, 0xEB32}, Value(int64_t{-123456789})},
        {ValueType::kInt32, ByteOrder::kDCBA, {0xEB32, 0xA4F8}, Value(int64_t{-123456789})},
        {ValueType::kInt32, ByteOrder::kABCD, {0x1234, 0x5678}, Value(int64_t{305419896})},
        {ValueType::kInt32, ByteOrder::kCDAB, {0x5678, 0x1234}, Value(int64_t{305419896})},
        {ValueType::kInt32, ByteOrder::kBADC, {0x3412, 0x7856}, Value(int64_t{305419896})},
        {ValueType::kInt32, ByteOrder::kDCBA, {0x7856, 0x3412}, Value(int64_t{305419896})},
        {ValueType::kInt32, ByteOrder::kABCD, {0xFFFF, 0xFFFF}, Value(int64_t{-1})},
    });
}

TEST(ModbusCodec, Uint32InEveryOrder) {
    // 3000000000 = 0xB2D05E00 (above 2^31, so a signed read would be negative).
    check_cases({
        {ValueType::kUint32, ByteOrder::kABCD, {0xB2D0, 0x5E00}, Value(uint64_t{3000000000})},
        {ValueType::kUint32, ByteOrder::kCDAB, {0x5E00, 0xB2D0}, Value(uint64_t{3000000000})},
        {ValueType::kUint32, ByteOrder::kBADC, {0xD0B2, 0x005E}, Value(uint64_t{3000000000})},
        {ValueType::kUint32, ByteOrder::kDCBA, {0x005E, 0xD0B2}, Value(uint64_t{3000000000})},
    });
}

TEST(ModbusCodec, Int64InEveryOrder) {
    // -1234567890123456789 = 0xEEDDEF0B82167EEB.
    const Value v(int64_t{-1234567890123456789});
    check_cases({
        {ValueType::kInt64, ByteOrder::kABCD, {0xEEDD, 0xEF0B, 0x8216, 0x7EEB}, v},
        {ValueType::kInt64, ByteOrder::kCDAB, {0x7EEB, 0x8216, 0xEF0B, 0xEEDD}, v},
        {ValueType::kInt64, ByteOrder::kBADC, {0xDDEE, 0x0BEF, 0x1682, 0xEB7E}, v},
        {ValueType::kInt64, ByteOrder::kDCBA, {0xEB7E, 0x1682, 0x0BEF, 0xDDEE}, v},
        {ValueType::kInt64,
         ByteOrder::kABCD,
         {0x8000, 0x0000, 0x0000, 0x0000},
         Value(std::numeric_limits<int64_t>::min())},
    });
}

TEST(ModbusCodec, Uint64AboveTwoToThe63InEveryOrder) {
    // 18364758544493064720 = 0xFEDCBA9876543210.
    const Value v(uint64_t{18364758544493064720ull});
    check_cases({
        {ValueType::kUint64, ByteOrder::kABCD, {0xFEDC, 0xBA98, 0x7654, 0x3210}, v},
        {ValueType::kUint64, ByteOrder::kCDAB, {0x3210, 0x7654, 0xBA98, 0xFEDC}, v},
        {ValueType::kUint64, ByteOrder::kBADC, {0xDCFE, 0x98BA, 0x5476, 0x1032}, v},
        {ValueType::kUint64, ByteOrder::kDCBA, {0x1032, 0x5476, 0x98BA, 0xDCFE}, v},
        {ValueType::kUint64,
         ByteOrder::kABCD,
         {0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF},
         Value(std::numeric_limits<uint64_t>::max())},
    });
}

TEST(ModbusCodec, Float32InEveryOrder) {
    // 230.5f = 0x43668000; -1.5f = 0xBFC00000.
    check_cases({
        {ValueType::kFloat32, ByteOrder::kABCD, {0x4366, 0x8000}, Value(230.5)},
        {ValueType::kFloat32, ByteOrder::kCDAB, {0x8000, 0x4366}, Value(230.5)},
        {ValueType::kFloat32, ByteOrder::kBADC, {0x6643, 0x0080}, Value(230.5)},
        {ValueType::kFloat32, ByteOrder::kDCBA, {0x0080, 0x6643}, Value(230.5)},
        {ValueType::kFloat32, ByteOrder::kABCD, {0xBFC0, 0x0000}, Value(-1.5)},
        {ValueType::kFloat32, ByteOrder::kCDAB, {0x0000, 0xBFC0}, Value(-1.5)},
        {ValueType::kFloat32, ByteOrder::kBADC, {0xC0BF, 0x0000}, Value(-1.5)},
        {ValueType::kFloat32, ByteOrder::kDCBA, {0x0000, 0xC0BF}, Value(-1.5)},
    });
}

TEST(ModbusCodec, Float32BecomesItsShortestDecimal) {
    // 229.7f = 0x4365B333, exactly 229.6999969482421875; the reading must be 229.7.
    const std::vector<uint16_t> words = {0x4365, 0xB333};
    const Value v = decode_words(reg_of(ValueType::kFloat32, ByteOrder::kABCD), words);
    ASSERT_TRUE(std::holds_alternative<double>(v));
    EXPECT_EQ(std::get<double>(v), 229.7);
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    ASSERT_TRUE(put_json(j, "v", v));
    EXPECT_EQ(j.dump(), R"({"v":229.7})");
}

TEST(ModbusCodec, Float32NonFiniteStaysNonFinite) {
    const RegisterConfig reg = reg_of(ValueType::kFloat32, ByteOrder::kABCD);
    const std::vector<uint16_t> nan = {0x7FC0, 0x0000};
    const std::vector<uint16_t> inf = {0x7F80, 0x0000};
    const std::vector<uint16_t> neg_inf = {0xFF80, 0x0000};
    EXPECT_TRUE(std::isnan(std::get<double>(decode_words(reg, nan))));
    EXPECT_EQ(std::get<double>(decode_words(reg, inf)), std::numeric_limits<double>::infinity());
    EXPECT_EQ(std::get<double>(decode_words(reg, neg_inf)),
              -std::numeric_limits<double>::infinity());
}

TEST(ModbusCodec, Float64InEveryOrder) {
    // 123456.789 = 0x40FE240C9FBE76C9.
    check_cases({
        {ValueType::kFloat64,
         ByteOrder::kABCD,
         {0x40FE, 0x240C, 0x9FBE, 0x76C9},
         Value(123456.789)},
        {ValueType::kFloat64,
         ByteOrder::kCDAB,
         {0x76C9, 0x9FBE, 0x240C, 0x40FE},
         Value(123456.789)},
        {ValueType::kFloat64,
         ByteOrder::kBADC,
         {0xFE40, 0x0C24, 0xBE9F, 0xC976},
         Value(123456.789)},
        {ValueType::kFloat64,
         ByteOrder::kDCBA,
         {0xC976, 0xBE9F, 0x0C24, 0xFE40},
         Value(123456.789)},
        // -0.0025 = 0xBF647AE147AE147B
        {ValueType::kFloat64, ByteOrder::kABCD, {0xBF64, 0x7AE1, 0x47AE, 0x147B}, Value(-0.0025)},
    });
}

TEST(ModbusCodec, StringInEveryOrder) {
    // "ABC": odd length, NUL padded to 2 registers. 'A' 0x41, 'B' 0x42, 'C' 0x43.
    check_cases({
        {ValueType::kString, ByteOrder::kABCD, {0x4142, 0x4300}, Value(std::string("ABC")), 2},
        {ValueType::kString, ByteOrder::kCDAB, {0x4142, 0x4300}, Value(std::string("ABC")), 2},
        {ValueType::kString, ByteOrder::kBADC, {0x4241, 0x0043}, Value(std::string("ABC")), 2},
        {ValueType::kString, ByteOrder::kDCBA, {0x4241, 0x0043}, Value(std::string("ABC")), 2},
        {ValueType::kString,
         ByteOrder::kABCD,
         {0x4D45, 0x5445, 0x522D, 0x3100},
         Value(std::string("METER-1")),
         4},
        {ValueType::kString,
         ByteOrder::kDCBA,
         {0x454D, 0x4554, 0x2D52, 0x0031},
         Value(std::string("METER-1")),
         4},
    });
}

TEST(ModbusCodec, StringTrimsPaddingAndStopsAtNul) {
    const RegisterConfig abcd = reg_of(ValueType::kString, ByteOrder::kABCD, 3);
    const RegisterConfig badc = reg_of(ValueType::kString, ByteOrder::kBADC, 3);
    // "Hi" followed by spaces.
    const std::vector<uint16_t> spaces = {0x4869, 0x2020, 0x2020};
    EXPECT_EQ(decode_words(abcd, spaces), Value(std::string("Hi")));
    // "Hi", a space, then NUL padding.
    const std::vector<uint16_t> mixed = {0x4869, 0x2000, 0x0000};
    EXPECT_EQ(decode_words(abcd, mixed), Value(std::string("Hi")));
    // Stop at the first NUL even when characters follow it.
    const std::vector<uint16_t> early_nul = {0x4100, 0x4243, 0x4445};
    EXPECT_EQ(decode_words(abcd, early_nul), Value(std::string("A")));
    // Leading and inner spaces stay.
    const std::vector<uint16_t> inner = {0x2041, 0x2042, 0x2020};
    EXPECT_EQ(decode_words(abcd, inner), Value(std::string(" A B")));
    // Swapped bytes: "Hi!" with a trailing space: 'H' 0x48 'i' 0x69 '!' 0x21.
    const std::vector<uint16_t> swapped = {0x6948, 0x2021, 0x0000};
    EXPECT_EQ(decode_words(badc, swapped), Value(std::string("Hi!")));
    // All NULs or all spaces is the empty string.
    const std::vector<uint16_t> empty = {0x0000, 0x0000, 0x0000};
    EXPECT_EQ(decode_words(abcd, empty), Value(std::string()));
    EXPECT_EQ(decode_words(abcd, std::vector<uint16_t>{0x2020, 0x2020, 0x2020}),
              Value(std::string()));
}

// Found by fuzz_register_decode: a string register never written reads 0xFFFF, and its bytes
// (or a meter's Latin-1 text) made nlohmann::json::dump() throw when the sample was buffered.
TEST(ModbusCodec, StringBytesThatAreNotUtf8BecomeReplacementCharacters) {
    const RegisterConfig reg = reg_of(ValueType::kString, ByteOrder::kABCD, 3);
    const std::string r = "\xEF\xBF\xBD";  // U+FFFD
    EXPECT_EQ(decode_words(reg, std::vector<uint16_t>{0xFFFF, 0xFFFF, 0xFFFF}),
              Value(r + r + r + r + r + r));
    // "Zähler" in Latin-1, and "Zä" in UTF-8, which stays as it is.
    EXPECT_EQ(decode_words(reg, std::vector<uint16_t>{0x5AE4, 0x686C, 0x6572}),
              Value("Z" + r + "hler"));
    EXPECT_EQ(decode_words(reg, std::vector<uint16_t>{0x5AC3, 0xA400, 0x0000}),
              Value(std::string("Z\xC3\xA4")));
    nlohmann::ordered_json sample = nlohmann::ordered_json::object();
    ASSERT_TRUE(put_json(sample, "label",
                         decode_words(reg, std::vector<uint16_t>{0x41FF, 0xFE42, 0x0000})));
    EXPECT_EQ(sample.dump(), "{\"label\":\"A" + r + r + "B\"}");
}

TEST(ModbusCodec, StringEncodeTruncatesAndPads) {
    const RegisterConfig reg = reg_of(ValueType::kString, ByteOrder::kABCD, 2);
    EXPECT_EQ(encode_words(reg, Value(std::string("ABCDEF"))),
              (std::vector<uint16_t>{0x4142, 0x4344}));
    EXPECT_EQ(encode_words(reg, Value(std::string())), (std::vector<uint16_t>{0x0000, 0x0000}));
    EXPECT_EQ(encode_words(reg, Value(std::string("A"))), (std::vector<uint16_t>{0x4100, 0x0000}));
}

TEST(ModbusCodec, DecodeBit) {
    EXPECT_EQ(decode_bit(0), Value(false));
    EXPECT_EQ(decode_bit(1), Value(true));
    EXPECT_EQ(decode_bit(0xFF), Value(true));
}

TEST(ModbusCodec, ScaleRoundsTo15SignificantDigits) {
    const Value v = apply_scale(Value(int64_t{2297}), 0.1, 0.0);
    ASSERT_TRUE(std::holds_alternative<double>(v));
    EXPECT_EQ(std::get<double>(v), 229.7);  // 2297 * 0.1 is 229.70000000000002 unrounded
    EXPECT_EQ(apply_scale(Value(uint64_t{2297}), 0.1, 0.0), Value(229.7));
    EXPECT_EQ(apply_scale(Value(0.1), 1.0, 0.2), Value(0.3));
    EXPECT_EQ(apply_scale(Value(int64_t{-15}), 0.01, 0.0), Value(-0.15));
}

TEST(ModbusCodec, OffsetIsAdded) {
    EXPECT_EQ(apply_scale(Value(int64_t{100}), 1.0, -40.0), Value(60.0));
    EXPECT_EQ(apply_scale(Value(uint64_t{2731}), 0.1, -273.1), Value(0.0));
    EXPECT_EQ(apply_scale(Value(int64_t{5}), 2.0, 0.5), Value(10.5));
}

TEST(ModbusCodec, IdentityScaleLeavesValueUnchanged) {
    const Value big(uint64_t{18364758544493064720ull});
    EXPECT_EQ(apply_scale(big, 1.0, 0.0), big);
    EXPECT_EQ(apply_scale(Value(int64_t{-7}), 1.0, 0.0), Value(int64_t{-7}));
    EXPECT_EQ(apply_scale(Value(229.69999694824219), 1.0, 0.0), Value(229.69999694824219));
}

TEST(ModbusCodec, ScaleLeavesBoolAndStringAlone) {
    EXPECT_EQ(apply_scale(Value(true), 10.0, 1.0), Value(true));
    EXPECT_EQ(apply_scale(Value(std::string("x")), 10.0, 1.0), Value(std::string("x")));
}

TEST(ModbusCodec, ScaleKeepsNonFinite) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const double inf = std::numeric_limits<double>::infinity();
    EXPECT_TRUE(std::isnan(std::get<double>(apply_scale(Value(nan), 0.1, 1.0))));
    EXPECT_EQ(std::get<double>(apply_scale(Value(inf), 0.1, 1.0)), inf);
}

TEST(ModbusCodec, PutJsonTypes) {
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    EXPECT_TRUE(put_json(j, "b", Value(true)));
    EXPECT_TRUE(put_json(j, "i", Value(int64_t{-5})));
    EXPECT_TRUE(put_json(j, "u", Value(uint64_t{18364758544493064720ull})));
    EXPECT_TRUE(put_json(j, "d", Value(229.7)));
    EXPECT_TRUE(put_json(j, "s", Value(std::string("ABC"))));
    EXPECT_EQ(j.dump(), R"({"b":true,"i":-5,"u":18364758544493064720,"d":229.7,"s":"ABC"})");
    EXPECT_TRUE(j["i"].is_number_integer());
    EXPECT_TRUE(j["u"].is_number_unsigned());
    EXPECT_TRUE(j["d"].is_number_float());
}

TEST(ModbusCodec, PutJsonRefusesNonFinite) {
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    EXPECT_FALSE(put_json(j, "nan", Value(std::numeric_limits<double>::quiet_NaN())));
    EXPECT_FALSE(put_json(j, "inf", Value(std::numeric_limits<double>::infinity())));
    EXPECT_FALSE(put_json(j, "ninf", Value(-std::numeric_limits<double>::infinity())));
    EXPECT_TRUE(j.empty());
    EXPECT_FALSE(j.contains("nan"));
}

TEST(ModbusCodec, ValueFromJson) {
    EXPECT_EQ(value_from_json(nlohmann::json(true)), Value(true));
    EXPECT_EQ(value_from_json(nlohmann::json::parse("-3")), Value(int64_t{-3}));
    EXPECT_EQ(value_from_json(nlohmann::json::parse("42")), Value(int64_t{42}));
    EXPECT_EQ(value_from_json(nlohmann::json::parse("18364758544493064720")),
              Value(uint64_t{18364758544493064720ull}));
    EXPECT_EQ(value_from_json(nlohmann::json::parse("229.7")), Value(229.7));
    EXPECT_EQ(value_from_json(nlohmann::json("abc")), Value(std::string("abc")));
    EXPECT_EQ(value_from_json(nlohmann::json::parse("[1,2]")), Value(std::string("[1,2]")));
}

TEST(ModbusCodec, EncodeConvertsNumbersToTheType) {
    const RegisterConfig i16 = reg_of(ValueType::kInt16, ByteOrder::kABCD);
    const RegisterConfig u16 = reg_of(ValueType::kUint16, ByteOrder::kABCD);
    // Truncation toward zero.
    EXPECT_EQ(encode_words(i16, Value(-3.9)), std::vector<uint16_t>{0xFFFD});
    EXPECT_EQ(encode_words(i16, Value(3.9)), std::vector<uint16_t>{0x0003});
    // Out-of-range values saturate.
    EXPECT_EQ(encode_words(i16, Value(int64_t{40000})), std::vector<uint16_t>{0x7FFF});
    EXPECT_EQ(encode_words(u16, Value(70000.0)), std::vector<uint16_t>{0xFFFF});
    EXPECT_EQ(encode_words(u16, Value(int64_t{-1})), std::vector<uint16_t>{0x0000});
    EXPECT_EQ(encode_words(u16, Value(std::numeric_limits<double>::quiet_NaN())),
              std::vector<uint16_t>{0x0000});
    // Integers into floats.
    EXPECT_EQ(encode_words(reg_of(ValueType::kFloat32, ByteOrder::kABCD), Value(int64_t{230})),
              (std::vector<uint16_t>{0x4366, 0x0000}));
    // Doubles beyond the float range become infinities (0x7F800000), the largest float stays.
    const RegisterConfig f32 = reg_of(ValueType::kFloat32, ByteOrder::kABCD);
    EXPECT_EQ(encode_words(f32, Value(1e300)), (std::vector<uint16_t>{0x7F80, 0x0000}));
    EXPECT_EQ(encode_words(f32, Value(-1e300)), (std::vector<uint16_t>{0xFF80, 0x0000}));
    EXPECT_EQ(encode_words(f32, Value(static_cast<double>(std::numeric_limits<float>::max()))),
              (std::vector<uint16_t>{0x7F7F, 0xFFFF}));
    // Numbers into strings and strings into numbers.
    EXPECT_EQ(encode_words(reg_of(ValueType::kString, ByteOrder::kABCD, 2), Value(int64_t{42})),
              (std::vector<uint16_t>{0x3432, 0x0000}));
    EXPECT_EQ(encode_words(u16, Value(std::string("513"))), std::vector<uint16_t>{0x0201});
}

TEST(ModbusCodec, RoundTripEveryTypeAndOrder) {
    const std::vector<std::pair<ValueType, std::vector<Value>>> samples = {
        {ValueType::kBool, {Value(false), Value(true)}},
        {ValueType::kInt16,
         {Value(int64_t{0}), Value(int64_t{-1}), Value(int64_t{32767}), Value(int64_t{-32768}),
          Value(int64_t{-300})}},
        {ValueType::kUint16,
         {Value(uint64_t{0}), Value(uint64_t{1}), Value(uint64_t{65535}), Value(uint64_t{0x1234})}},
        {ValueType::kInt32,
         {Value(int64_t{-2147483648LL}), Value(int64_t{2147483647}), Value(int64_t{-70000}),
          Value(int64_t{0x01020304})}},
        {ValueType::kUint32,
         {Value(uint64_t{4294967295u}), Value(uint64_t{0x01020304}), Value(uint64_t{65536})}},
        {ValueType::kInt64,
         {Value(std::numeric_limits<int64_t>::min()), Value(std::numeric_limits<int64_t>::max()),
          Value(int64_t{-0x0102030405060708LL})}},
        {ValueType::kUint64,
         {Value(std::numeric_limits<uint64_t>::max()), Value(uint64_t{0x8000000000000001ull}),
          Value(uint64_t{0x0102030405060708ull})}},
        {ValueType::kFloat32,
         {Value(229.7), Value(-1.5), Value(0.0), Value(1e-3), Value(3.4e38), Value(49.99)}},
        {ValueType::kFloat64, {Value(229.7), Value(-1e300), Value(5e-324), Value(0.1)}},
        {ValueType::kString,
         {Value(std::string("")), Value(std::string("A")), Value(std::string("AB")),
          Value(std::string("ABCDE")), Value(std::string("  x y"))}},
    };
    for (const auto& [type, values] : samples) {
        for (ByteOrder order : kAllOrders) {
            const RegisterConfig reg = reg_of(type, order, type == ValueType::kString ? 3 : 0);
            for (const Value& v : values) {
                SCOPED_TRACE(std::string(config::to_string(type)) + " " + config::to_string(order) +
                             " " + text_of(v));
                const std::vector<uint16_t> words = encode_words(reg, v);
                ASSERT_EQ(words.size(),
                          static_cast<size_t>(config::register_count(type, reg.length)));
                EXPECT_EQ(decode_words(reg, words), v);
            }
        }
    }
}

}  // namespace
}  // namespace kaa::modbus
