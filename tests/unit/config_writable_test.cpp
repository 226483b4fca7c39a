// A meter's writable: list: what is accepted, and every refusal with its line:column.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/config_json.hpp"
#include "tests/unit/config_test_helpers.hpp"

namespace kaa::config {
namespace {

using ::testing::ElementsAre;
using testing::errors;
using ::testing::IsEmpty;
using testing::kHead;
using testing::load;

/// A meter on tcp1 (line 8) with one register and the given writable: lines from line 12.
std::string meter_with(const std::string& writable_lines) {
    return kHead +
           "  - {name: m, token: t, bus: tcp1, unit: 1, registers: [{name: r, address: 0}],\n"
           "     metadata: {}}\n"
           "    # writable\n"
           "  - name: w\n"
           "    token: tw\n"
           "    bus: tcp1\n"
           "    unit: 2\n"
           "    registers: [{name: setpoint, address: 10}]\n"
           "    writable:\n" +
           writable_lines;
}

TEST(ConfigWritable, HoldingAndCoilEntriesAreReadWithTheirRangesAndKeptThroughJson) {
    const auto loaded = load(meter_with(
        "      - {name: setpoint, address: 10, type: uint16, scale: 0.1, min: 5, max: 95.5}\n"
        "      - {name: limit, address: 20, type: float32, byte_order: CDAB, write_multiple: "
        "true}\n"
        "      - {name: relay, address: 3, function: coil}\n"));
    ASSERT_THAT(testing::messages(loaded.errors), IsEmpty());
    const MeterConfig& m = loaded.config->meters[1];
    ASSERT_EQ(m.writable.size(), 3u);
    EXPECT_EQ(m.writable[0].reg.name, "setpoint");
    EXPECT_DOUBLE_EQ(m.writable[0].reg.scale, 0.1);
    EXPECT_EQ(m.writable[0].min, 5.0);
    EXPECT_EQ(m.writable[0].max, 95.5);
    EXPECT_FALSE(m.writable[0].write_multiple);
    EXPECT_EQ(m.writable[1].reg.byte_order, ByteOrder::kCDAB);
    EXPECT_FALSE(m.writable[1].min);
    EXPECT_TRUE(m.writable[1].write_multiple);
    EXPECT_EQ(m.writable[2].reg.function, RegisterFunction::kCoil);
    EXPECT_EQ(m.writable[2].reg.type, ValueType::kBool);

    // What the isolated loader's child sends back is the same configuration.
    auto again = gateway_config_from_json(to_json(*loaded.config));
    ASSERT_TRUE(again);
    EXPECT_EQ(to_json(*again).dump(), to_json(*loaded.config).dump());
}

TEST(ConfigWritable, ReadOnlyTablesStringsBadRangesAndNameClashesAreErrors) {
    EXPECT_THAT(
        errors(meter_with("      - {name: a, address: 1, function: input}\n"
                          "      - {name: b, address: 2, type: string, length: 2}\n"
                          "      - {name: c, address: 3, type: uint16, max: 70000}\n"
                          "      - {name: d, address: 4, type: int16, scale: 0.1, min: -3300}\n"
                          "      - {name: e, address: 5, min: 10, max: 5}\n"
                          "      - {name: a, address: 6}\n"
                          "      - {name: f, address: 7, function: coil, max: 1}\n")),
        ElementsAre(
            "t.yaml:17:41: meter 'w' writable register 'a': function input is read-only in Modbus; "
            "a "
            "writable register is holding or coil",
            "t.yaml:18:37: meter 'w' writable register 'b': type string cannot be written; "
            "use a number type",
            "t.yaml:19:50: meter 'w' writable register 'c': max 70000 cannot be written: "
            "uint16 with scale 1 and offset 0 holds 0..65535",
            "t.yaml:20:61: meter 'w' writable register 'd': min -3300 cannot be written: "
            "int16 with scale 0.1 and offset 0 holds -3276.8..3276.7",
            "t.yaml:21:45: meter 'w' writable register 'e': max must not be below min (10), "
            "got 5",
            "t.yaml:22:9: meter 'w' writable register 'a': name 'a' is already used by the "
            "writable register at line 17",
            "t.yaml:23:52: meter 'w' writable register 'f': max is not allowed with type "
            "bool"));
}

TEST(ConfigWritable, UnknownKeysAreErrorsListingTheAllowedOnes) {
    const auto errs = errors(meter_with("      - {name: a, address: 1, maximum: 3}\n"));
    ASSERT_EQ(errs.size(), 1u);
    EXPECT_THAT(errs[0], ::testing::HasSubstr("unknown key 'maximum'"));
    EXPECT_THAT(errs[0], ::testing::HasSubstr("write_multiple"));
}

}  // namespace
}  // namespace kaa::config
