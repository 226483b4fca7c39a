// Tests of the duration, size and number syntaxes of the configuration files.
#include "config/units.hpp"

#include <gtest/gtest.h>

namespace kaa::config {
namespace {

TEST(ConfigUnits, DurationsWithEveryUnit) {
    EXPECT_EQ(parse_duration("500ms"), Millis{500});
    EXPECT_EQ(parse_duration("10s"), Millis{10'000});
    EXPECT_EQ(parse_duration("5min"), Millis{300'000});
    EXPECT_EQ(parse_duration("1h"), Millis{3'600'000});
    EXPECT_EQ(parse_duration("0s"), Millis{0});
    EXPECT_EQ(parse_duration("0ms"), Millis{0});
}

TEST(ConfigUnits, FractionalDurations) {
    EXPECT_EQ(parse_duration("1.5s"), Millis{1500});
    EXPECT_EQ(parse_duration("0.25min"), Millis{15'000});
    EXPECT_EQ(parse_duration("0.001s"), Millis{1});
}

TEST(ConfigUnits, MalformedDurationsFail) {
    for (const char* text :
         {"",      "10",  "1.5",   "abc",   "s",     "10 s",    " 10s",
          "10s ",  "-1s", "+1s",   "1.s",   ".5s",   "1..5s",   "10m",
          "10sec", "10S", "1e3ms", "0x10s", "1.5ms", "0.0001s", "99999999999999999999h"}) {
        EXPECT_FALSE(parse_duration(text).has_value()) << "'" << text << "'";
    }
}

TEST(ConfigUnits, SizesBinaryAndDecimal) {
    EXPECT_EQ(parse_size("500B"), 500u);
    EXPECT_EQ(parse_size("64KiB"), 64u * 1024);
    EXPECT_EQ(parse_size("256MiB"), 256u * 1024 * 1024);
    EXPECT_EQ(parse_size("1GiB"), 1024ull * 1024 * 1024);
    EXPECT_EQ(parse_size("2TiB"), 2ull * 1024 * 1024 * 1024 * 1024);
    EXPECT_EQ(parse_size("64KB"), 64'000u);
    EXPECT_EQ(parse_size("64kB"), 64'000u);
    EXPECT_EQ(parse_size("3MB"), 3'000'000u);
    EXPECT_EQ(parse_size("1GB"), 1'000'000'000u);
    EXPECT_EQ(parse_size("1.5KiB"), 1536u);
}

TEST(ConfigUnits, MalformedSizesFail) {
    for (const char* text : {"", "1024", "abc", "MiB", "1 MiB", "1mib", "1Mb", "-1MiB", "1.1B",
                             "0.1KiB", "99999999999TiB"}) {
        EXPECT_FALSE(parse_size(text).has_value()) << "'" << text << "'";
    }
}

TEST(ConfigUnits, DecimalAndHexIntegers) {
    EXPECT_EQ(parse_integer("0"), 0);
    EXPECT_EQ(parse_integer("42"), 42);
    EXPECT_EQ(parse_integer("-7"), -7);
    EXPECT_EQ(parse_integer("+7"), 7);
    EXPECT_EQ(parse_integer("0x10"), 16);
    EXPECT_EQ(parse_integer("0XfFfF"), 65535);
    EXPECT_EQ(parse_integer("-0x10"), -16);
    EXPECT_EQ(parse_integer("9223372036854775807"), INT64_MAX);
    EXPECT_EQ(parse_integer("-9223372036854775808"), INT64_MIN);
}

TEST(ConfigUnits, MalformedIntegersFail) {
    for (const char* text : {"", "-", "0x", "1.0", "1e3", "abc", "12a", " 1", "1 ", "0x1g", "--1",
                             "+-1", "9223372036854775808", "0b101"}) {
        EXPECT_FALSE(parse_integer(text).has_value()) << "'" << text << "'";
    }
}

TEST(ConfigUnits, DecimalNumbers) {
    EXPECT_EQ(parse_number("1"), 1.0);
    EXPECT_EQ(parse_number("-0.5"), -0.5);
    EXPECT_EQ(parse_number("+2.5"), 2.5);
    EXPECT_EQ(parse_number("2.5e3"), 2500.0);
    EXPECT_EQ(parse_number(".5"), 0.5);
}

TEST(ConfigUnits, NonDecimalNumbersFail) {
    for (const char* text :
         {"", "inf", "-inf", "nan", ".inf", "0x1p3", "1e999", "abc", "1.2.3", "00-14-22", "1 "}) {
        EXPECT_FALSE(parse_number(text).has_value()) << "'" << text << "'";
    }
}

TEST(ConfigUnits, FormatsWithTheLargestExactUnit) {
    EXPECT_EQ(format_duration(Millis{500}), "500ms");
    EXPECT_EQ(format_duration(Millis{1500}), "1500ms");
    EXPECT_EQ(format_duration(Millis{90'000}), "90s");
    EXPECT_EQ(format_duration(Millis{300'000}), "5min");
    EXPECT_EQ(format_duration(Millis{7'200'000}), "2h");
    EXPECT_EQ(format_duration(Millis{0}), "0ms");
    EXPECT_EQ(format_size(256ull * 1024 * 1024), "256MiB");
    EXPECT_EQ(format_size(1536), "1536B");
    EXPECT_EQ(format_size(2048), "2KiB");
    EXPECT_EQ(format_size(0), "0B");
}

}  // namespace
}  // namespace kaa::config
