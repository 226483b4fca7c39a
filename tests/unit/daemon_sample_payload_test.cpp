// Tests of the buffer's record of a sample and of Kaa's JSON built from it.
#include <gtest/gtest.h>

#include <cstdint>
#include <ctime>
#include <limits>
#include <string>

#include "daemon/buffer/sample_record.hpp"
#include "daemon/kaa/sample_payload.hpp"

namespace kaa {
namespace {

Sample typed_sample() {
    Sample s;
    s.meter_index = 2;
    s.read_ms = 1'700'000'000'123;
    s.readings = {{"voltage", 229.7, Quality::kGood},
                  {"current", int64_t{-2}, Quality::kGood},
                  {"energy", uint64_t{18'446'744'073'709'551'615ULL}, Quality::kGood},
                  {"relay", true, Quality::kGood},
                  {"serial", std::string("A\"1"), Quality::kGood},
                  {"whole", 230.0, Quality::kGood}};
    return s;
}

TEST(SampleRecord, KeepsEveryTypedValueInRegisterOrder) {
    EXPECT_EQ(buffer::encode_record(typed_sample().readings),
              R"({"voltage":229.7,"current":-2,"energy":18446744073709551615,"relay":true,)"
              R"("serial":"A\"1","whole":230.0})");
}

TEST(SampleRecord, AValueThatWasNotReadIsNull) {
    std::vector<Reading> r = {
        {"a", 1.5, Quality::kGood},
        {"b", false, Quality::kReadFailed},
        {"c", std::numeric_limits<double>::quiet_NaN(), Quality::kUnencodable}};
    EXPECT_EQ(buffer::encode_record(r), R"({"a":1.5,"b":null,"c":null})");
}

TEST(SampleRecord, ToBufferedKeepsMeterAndReadTime) {
    const BufferedSample b = buffer::to_buffered(typed_sample());
    EXPECT_EQ(b.meter_index, 2u);
    EXPECT_EQ(b.read_ms, 1'700'000'000'123);
    EXPECT_EQ(b.record, buffer::encode_record(typed_sample().readings));
}

TEST(SamplePayload, TheReadTimeComesFirstThenTheValues) {
    std::string out;
    uplink::append_sample_json(out, 1000, R"({"v":1,"w":2.5})");
    EXPECT_EQ(out, R"({"timestamp":1000,"v":1,"w":2.5})");
    EXPECT_LE(out.size(), uplink::sample_json_bound(R"({"v":1,"w":2.5})"));
}

TEST(SamplePayload, ValuesThatWereNotReadAreLeftOut) {
    std::string out;
    uplink::append_sample_json(out, 5, R"({"a":null,"b":"x:null","c":null,"d":3})");
    EXPECT_EQ(out, R"({"timestamp":5,"b":"x:null","d":3})");
}

TEST(SamplePayload, ARecordWithNoValueGivesOnlyTheTimestamp) {
    std::string out;
    uplink::append_sample_json(out, 0, "{}");
    EXPECT_EQ(out, R"({"timestamp":0})");
    out.clear();
    uplink::append_sample_json(out, 7, R"({"a":null})");
    EXPECT_EQ(out, R"({"timestamp":7})");
}

TEST(SamplePayload, AppendsToWhatIsThere) {
    std::string out = "[";
    uplink::append_sample_json(out, 1, R"({"v":1})");
    out.push_back(',');
    uplink::append_sample_json(out, 2, R"({"v":2})");
    out.push_back(']');
    EXPECT_EQ(out, R"([{"timestamp":1,"v":1},{"timestamp":2,"v":2}])");
}

config::TimestampField field(const std::string& key, config::TimestampFormat format) {
    return config::TimestampField{key, format};
}

TEST(SamplePayload, TheReadTimeGoesUnderTheConfiguredKeyInEachFormat) {
    using config::TimestampFormat;
    const int64_t t = 1'764'586'635'007;  // 2025-12-01T10:57:15.007Z
    std::string out;
    ASSERT_TRUE(
        uplink::append_sample_json(out, t, R"({"v":1})", field("ts", TimestampFormat::kMillis)));
    EXPECT_EQ(out, R"({"ts":1764586635007,"v":1})");
    out.clear();
    ASSERT_TRUE(
        uplink::append_sample_json(out, t, R"({"v":1})", field("ts", TimestampFormat::kSeconds)));
    EXPECT_EQ(out, R"({"ts":1764586635.007,"v":1})");
    out.clear();
    ASSERT_TRUE(
        uplink::append_sample_json(out, t, R"({"v":1})", field("ts", TimestampFormat::kIso8601)));
    EXPECT_EQ(out, R"({"ts":"2025-12-01T10:57:15.007Z","v":1})");
}

TEST(SamplePayload, TheEdgesOfTheAllowedRangeAreWrittenExactly) {
    using config::TimestampFormat;
    std::string out;
    uplink::append_read_time(out, 0, TimestampFormat::kIso8601);
    EXPECT_EQ(out, R"("1970-01-01T00:00:00.000Z")");
    out.clear();
    uplink::append_read_time(out, uplink::kLatestReadMs - 1, TimestampFormat::kIso8601);
    EXPECT_EQ(out, R"("2199-12-31T23:59:59.999Z")");
    out.clear();
    uplink::append_read_time(out, 999, TimestampFormat::kSeconds);
    EXPECT_EQ(out, "0.999");
    out.clear();
    uplink::append_read_time(out, 951'782'400'000, TimestampFormat::kIso8601);  // a leap day
    EXPECT_EQ(out, R"("2000-02-29T00:00:00.000Z")");
}

TEST(SamplePayload, EveryDayFrom1970To2199MatchesTheCLibrary) {
    // Where time_t is 64-bit (amd64, arm64), gmtime agrees with our calendar on every
    // day; on 32-bit armhf only our calendar reaches past 2038.
    if (sizeof(std::time_t) < 8)
        GTEST_SKIP() << "32-bit time_t";
    for (int64_t day = 0; day * 86'400'000 < uplink::kLatestReadMs; ++day) {
        const int64_t ms = day * 86'400'000 + 45'296'789;  // 12:34:56.789
        const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
        std::tm utc{};
        gmtime_r(&seconds, &utc);
        char text[40];
        std::strftime(text, sizeof text, "\"%Y-%m-%dT%H:%M:%S.789Z\"", &utc);
        std::string out;
        uplink::append_read_time(out, ms, config::TimestampFormat::kIso8601);
        ASSERT_EQ(out, text) << day;
    }
}

TEST(SamplePayload, AReadTimeBefore1970OrFarAheadIsNeverWritten) {
    for (auto format : {config::TimestampFormat::kMillis, config::TimestampFormat::kSeconds,
                        config::TimestampFormat::kIso8601}) {
        std::string out = "[";
        EXPECT_FALSE(uplink::append_sample_json(out, -1, R"({"v":1})", field("t", format)));
        EXPECT_FALSE(uplink::append_sample_json(out, uplink::kLatestReadMs, R"({"v":1})",
                                                field("t", format)));
        EXPECT_FALSE(uplink::append_sample_json(out, INT64_MAX, R"({"v":1})", field("t", format)));
        EXPECT_EQ(out, "[");
    }
}

TEST(SamplePayload, TheBoundHoldsForEveryFormat) {
    const std::string record = R"({"a":1.5,"b":"text"})";
    for (auto format : {config::TimestampFormat::kMillis, config::TimestampFormat::kSeconds,
                        config::TimestampFormat::kIso8601}) {
        std::string out;
        const auto f = field("a_long_timestamp_key", format);
        ASSERT_TRUE(uplink::append_sample_json(out, uplink::kLatestReadMs - 1, record, f));
        EXPECT_LE(out.size(), uplink::sample_json_bound(record, f));
    }
}

}  // namespace
}  // namespace kaa
