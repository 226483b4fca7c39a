// Tests of the buffer's record of a sample and of Kaa's JSON built from it.
#include <gtest/gtest.h>

#include <cstdint>
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
    uplink::append_sample_json(out, -1, "{}");
    EXPECT_EQ(out, R"({"timestamp":-1})");
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

}  // namespace
}  // namespace kaa
