// The uplink against Kaa's real semantics: /error codes that hold or drop, publishes bounded
// in bytes, read times in the configured format, unsendable read times.
#include <gtest/gtest.h>

#include <memory>
#include <sstream>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "daemon/buffer/memory_sample_store.hpp"
#include "daemon/kaa/metadata_parts.hpp"
#include "daemon/kaa/sample_batch.hpp"
#include "daemon/kaa/sample_payload.hpp"
#include "daemon/kaa/uplink.hpp"
#include "tests/fakes/fake_clock.hpp"
#include "tests/fakes/fake_mqtt.hpp"
#include "tests/fakes/log_capture.hpp"

namespace kaa::uplink {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

StoredSample stored(uint64_t id, int64_t ts, size_t value_bytes) {
    return StoredSample{id, 0, ts, "{\"v\":\"" + std::string(value_bytes, 'x') + "\"}"};
}

TEST(SampleBatch, CutsAtTheByteBoundAndGivesBackTheRest) {
    std::vector<StoredSample> in;
    for (uint64_t i = 0; i < 10; ++i)
        in.push_back(stored(i, 1000 + static_cast<int64_t>(i), 80));
    // Each sample: {"timestamp":100X,"v":"x*80"} = 105 bytes, plus one comma between.
    const SampleBatch b = build_sample_batch(in, 400, {});
    EXPECT_LE(b.payload.size(), 400u);
    EXPECT_EQ(b.sent, (std::vector<uint64_t>{0, 1, 2}));
    EXPECT_EQ(b.left, (std::vector<uint64_t>{3, 4, 5, 6, 7, 8, 9}));
    EXPECT_EQ(b.first_read_ms, 1000);
    EXPECT_EQ(b.last_read_ms, 1002);
    EXPECT_FALSE(b.oversized);
    EXPECT_EQ(nlohmann::json::parse(b.payload).size(), 3u);
}

TEST(SampleBatch, EverythingFitsUnderALargeBound) {
    std::vector<StoredSample> in = {stored(7, 1, 2), stored(8, 2, 2)};
    const SampleBatch b = build_sample_batch(in, 256 * 1024, {});
    EXPECT_EQ(b.payload, R"([{"timestamp":1,"v":"xx"},{"timestamp":2,"v":"xx"}])");
    EXPECT_EQ(b.sent, (std::vector<uint64_t>{7, 8}));
    EXPECT_TRUE(b.left.empty());
}

TEST(SampleBatch, ASampleLargerThanTheBoundGoesAlone) {
    std::vector<StoredSample> in = {stored(1, 1, 5000), stored(2, 2, 10)};
    const SampleBatch b = build_sample_batch(in, 4096, {});
    EXPECT_TRUE(b.oversized);
    EXPECT_EQ(b.sent, (std::vector<uint64_t>{1}));
    EXPECT_EQ(b.left, (std::vector<uint64_t>{2}));
    EXPECT_GT(b.payload.size(), 4096u);
}

TEST(SampleBatch, ExactlyAtTheBoundFits) {
    std::vector<StoredSample> in = {stored(1, 1, 10)};
    const size_t one = build_sample_batch(in, 1 << 20, {}).payload.size();
    EXPECT_FALSE(build_sample_batch(in, one, {}).oversized);
    EXPECT_TRUE(build_sample_batch(in, one - 1, {}).oversized);
}

TEST(SampleBatch, UnsendableReadTimesAreSetApart) {
    std::vector<StoredSample> in = {stored(1, -5, 1), stored(2, 10, 1),
                                    stored(3, kLatestReadMs + 1, 1)};
    const SampleBatch b = build_sample_batch(in, 4096, {"t", config::TimestampFormat::kIso8601});
    EXPECT_EQ(b.bad_time, (std::vector<uint64_t>{1, 3}));
    EXPECT_EQ(b.sent, (std::vector<uint64_t>{2}));
    EXPECT_EQ(b.payload, R"([{"t":"1970-01-01T00:00:00.010Z","v":"x"}])");
    const SampleBatch none = build_sample_batch({stored(4, -1, 1)}, 4096, {});
    EXPECT_TRUE(none.payload.empty());
    EXPECT_TRUE(none.sent.empty());
}

TEST(MetadataParts, KeysAreSplitIntoPartsWithinTheBound) {
    nlohmann::json keys = nlohmann::json::object();
    for (int i = 0; i < 20; ++i)
        keys["key" + std::to_string(100 + i)] = std::string(40, 'a');
    const auto parts = split_metadata(keys, 200);
    size_t total = 0;
    for (const auto& p : parts) {
        EXPECT_LE(p.dump().size(), 200u);
        total += p.size();
    }
    EXPECT_EQ(total, 20u);
    EXPECT_GT(parts.size(), 4u);
    EXPECT_EQ(split_metadata(keys, 1 << 20).size(), 1u);
    EXPECT_TRUE(split_metadata(nlohmann::json::object(), 100).empty());
}

TEST(MetadataParts, AKeyTooLargeAloneFormsItsOwnPart) {
    nlohmann::json keys = {{"a", "1"}, {"big", std::string(500, 'b')}, {"c", "3"}};
    const auto parts = split_metadata(keys, 100);
    ASSERT_EQ(parts.size(), 3u);
    EXPECT_TRUE(parts[1].contains("big"));
    EXPECT_EQ(parts[1].size(), 1u);
}

/// The uplink with two meters on a fake MQTT client, a fake clock and the memory store.
class KaaSemanticsTest : public ::testing::Test {
  protected:
    void make(size_t batch_bytes = 256 * 1024, config::TimestampField field = {}) {
        UplinkSettings s;
        s.app_version = "av";
        s.response_timeout = seconds(30);
        s.batch = 500;
        s.batch_bytes = batch_bytes;
        s.timestamp = field;
        s.retry_seed = 7;
        uplink = std::make_unique<Uplink>(
            s, std::vector<Endpoint>{{"heat", "tok-heat"}, {"water", "tok-water"}}, mqtt, store,
            clock);
    }
    void add(size_t meter, int count, int64_t first_ts = 1000, size_t width = 1) {
        std::vector<BufferedSample> v;
        for (int i = 0; i < count; ++i)
            v.push_back(
                BufferedSample{meter, first_ts + i, "{\"v\":\"" + std::string(width, 'x') + "\"}"});
        ASSERT_TRUE(store.append(v).ok());
    }
    uint64_t waiting() {
        uplink->flush_removals();
        return store.stats().samples;
    }
    void answer(size_t publish, int code) {
        const std::string& topic = mqtt.published[publish].topic;
        if (code == 0) {
            uplink->handle_message(topic + "/status", "");
        } else {
            uplink->handle_message(topic + "/error", "{\"statusCode\":" + std::to_string(code) +
                                                         ",\"reasonPhrase\":\"no\"}");
        }
    }
    /// Lets simulated time pass in steps, pumping as the main loop would.
    void pass(milliseconds total) {
        for (auto t = milliseconds(0); t < total; t += milliseconds(100)) {
            clock.advance(milliseconds(100));
            uplink->check_timeouts();
            uplink->pump();
        }
    }

    fakes::FakeClock clock;
    fakes::FakeMqtt mqtt;
    MemorySampleStore store{2, 64 << 20, config::Overflow::kDropOldest};
    std::unique_ptr<Uplink> uplink;
};

TEST_F(KaaSemanticsTest, AuthNotFoundTimeoutAndRateLimitHoldTheSamplesAndResendThem) {
    make();
    add(0, 5);
    uplink->handle_connected();
    ASSERT_EQ(mqtt.published.size(), 1u);
    const std::string first = mqtt.published[0].payload;
    for (int code : {401, 403, 404, 408, 429, 500, 503}) {
        const size_t before = mqtt.published.size();
        answer(before - 1, code);
        EXPECT_EQ(waiting(), 5u) << code;  // nothing deleted
        uplink->pump();
        EXPECT_EQ(mqtt.published.size(), before) << code << ": resent at once, not held";
        for (int step = 0; step < 700 && mqtt.published.size() == before; ++step)
            pass(milliseconds(100));  // within the longest hold (60 s) it goes again
        ASSERT_EQ(mqtt.published.size(), before + 1) << code;
        EXPECT_EQ(mqtt.published.back().payload, first) << code;
    }
    answer(mqtt.published.size() - 1, 0);
    EXPECT_EQ(waiting(), 0u);
    EXPECT_EQ(uplink->counters().samples_rejected, 0u);
    EXPECT_EQ(uplink->counters().samples_held, 35u);
    EXPECT_EQ(uplink->counters().samples_delivered, 5u);
}

TEST_F(KaaSemanticsTest, ARefusalLastingOverAMinuteIsLoggedOnceAndItsEndToo) {
    fakes::LogCapture log;
    make();
    add(0, 3);
    uplink->handle_connected();
    ASSERT_EQ(mqtt.published.size(), 1u);
    const auto start = clock.now();
    // Kaa answers 503 to every attempt for more than two minutes.
    while (clock.now() - start < std::chrono::minutes(2)) {
        const size_t before = mqtt.published.size();
        answer(before - 1, 503);
        for (int step = 0; step < 700 && mqtt.published.size() == before; ++step)
            pass(milliseconds(100));
        ASSERT_EQ(mqtt.published.size(), before + 1);
    }
    const std::string refused = "Kaa has refused the data of meter heat (token tok-heat) for ";
    EXPECT_EQ(log.count(refused), 1u) << log.text();
    EXPECT_EQ(log.count("every sample is kept and sent again with backoff"), 1u);
    EXPECT_EQ(log.count("accepts the data of meter heat"), 0u);
    answer(mqtt.published.size() - 1, 0);
    EXPECT_EQ(log.count("Kaa accepts the data of meter heat (token tok-heat) again after "), 1u)
        << log.text();
    EXPECT_EQ(waiting(), 0u);
}

TEST_F(KaaSemanticsTest, AHugeErrorPayloadIsNotParsedAndHoldsTheBatch) {
    fakes::LogCapture log;
    make();
    add(0, 4);
    uplink->handle_connected();
    ASSERT_EQ(mqtt.published.size(), 1u);
    const std::string topic = mqtt.published[0].topic + "/error";
    // 10 MB that would parse as a 400 (a drop) if it were read.
    std::string huge =
        "{\"statusCode\":400,\"reasonPhrase\":\"" + std::string(10 << 20, 'x') + "\"}";
    uplink->handle_message(topic, huge);
    EXPECT_EQ(waiting(), 4u) << "nothing deleted on a payload that was not read";
    EXPECT_EQ(uplink->counters().samples_rejected, 0u);
    EXPECT_EQ(log.count("an error payload of 10485796 bytes, not read (over 64 KiB)"), 2u)
        << log.text().substr(0, 2000);
    EXPECT_LT(log.text().size(), 2000u) << "the payload never reaches the log";
    // The gateway hands on only the length of a payload it did not keep: the same outcome.
    for (int step = 0; step < 700 && mqtt.published.size() == 1; ++step)
        pass(milliseconds(100));
    ASSERT_EQ(mqtt.published.size(), 2u);
    uplink->handle_oversized_message(mqtt.published[1].topic + "/error", 70'000);
    EXPECT_EQ(waiting(), 4u);
    EXPECT_EQ(uplink->counters().samples_held, 8u);
}

TEST_F(KaaSemanticsTest, AReasonPhraseIsBoundedAndEscapedInTheLog) {
    fakes::LogCapture log;
    make();
    add(0, 1);
    uplink->handle_connected();
    ASSERT_EQ(mqtt.published.size(), 1u);
    const std::string reason = "bad\\n[error] gateway: forged line" + std::string(5000, 'y');
    uplink->handle_message(mqtt.published[0].topic + "/error",
                           "{\"statusCode\":503,\"reasonPhrase\":\"" + reason + "\"}");
    EXPECT_EQ(log.count("\n[error] gateway: forged"), 0u) << log.text();
    EXPECT_GE(log.count("bad\\n[error] gateway: forged line"), 1u) << log.text();
    EXPECT_GE(log.count("... (5032 bytes)"), 1u) << log.text();
    EXPECT_LT(log.text().size(), 1500u);
}

TEST_F(KaaSemanticsTest, AFloodOfRepliesForUnknownTokensLeavesABoundedLog) {
    fakes::LogCapture log;
    make();
    add(0, 2);
    uplink->handle_connected();
    ASSERT_EQ(mqtt.published.size(), 1u);
    for (int i = 0; i < 100'000; ++i) {
        uplink->handle_message("kp1/av/dcx/stranger-" + std::to_string(i) + "/json/" +
                                   std::to_string(i % 50 + 1) + "/error",
                               "{\"statusCode\":400,\"reasonPhrase\":\"no\"}");
    }
    EXPECT_EQ(waiting(), 2u) << "replies for other tokens delete nothing";
    EXPECT_EQ(uplink->counters().errors_received, 100'000u);
    EXPECT_EQ(uplink->counters().stray_replies, 100'000u);
    // Strays share one limiter key: a token per message cannot buy a line per message.
    EXPECT_EQ(log.count("\n"), 1u) << log.text().substr(0, 2000);
    EXPECT_EQ(log.count("ignored an /error for samples request 1 of token stranger-0"), 1u);
    clock.advance(std::chrono::minutes(1));
    uplink->handle_message("kp1/av/epmx/stranger-x/update/keys/9/error", "{}");
    EXPECT_EQ(log.count("ignored an /error for metadata request 9 of token stranger-x"), 1u);
    EXPECT_EQ(log.count("(99999 more since the last such line)"), 1u) << log.text();
    answer(0, 0);
    EXPECT_EQ(waiting(), 0u);
}

TEST_F(KaaSemanticsTest, RepliesForIdsNeverSentChangeNothingAndLeaveShortLines) {
    fakes::LogCapture log;
    make();
    add(0, 3);
    uplink->handle_connected();
    ASSERT_EQ(mqtt.published.size(), 1u);
    const std::string base = "kp1/av/dcx/tok-heat/json/";
    // The served token with ids never sent: a /status confirms nothing, a 400 drops nothing.
    for (uint32_t rid = 2; rid < 2000; ++rid) {
        uplink->handle_message(base + std::to_string(rid) + "/status", "");
        uplink->handle_message(base + std::to_string(rid) + "/error",
                               "{\"statusCode\":400,\"reasonPhrase\":\"forged\"}");
    }
    // A token of 60,000 characters (MQTT allows topics of 64 KiB) reaches the log cut short.
    clock.advance(std::chrono::minutes(1));
    uplink->handle_message("kp1/av/dcx/" + std::string(60'000, 't') + "/json/1/error", "{}");
    EXPECT_EQ(waiting(), 3u);
    EXPECT_EQ(uplink->counters().samples_delivered, 0u);
    EXPECT_EQ(uplink->counters().samples_rejected, 0u);
    EXPECT_EQ(uplink->counters().stray_replies, 2u * 1998u + 1u);
    EXPECT_EQ(log.count("\n"), 2u) << log.text().substr(0, 2000);
    EXPECT_LT(log.text().size(), 1000u);
    EXPECT_EQ(log.count("... (60000 bytes)"), 1u);
    answer(0, 0);
    EXPECT_EQ(waiting(), 0u);
    EXPECT_EQ(uplink->counters().samples_delivered, 3u);
}

TEST_F(KaaSemanticsTest, OnlyPayloadRefusalsDropTheBatch) {
    for (int code : {400, 413, 415, 422}) {
        mqtt.published.clear();
        make();
        add(1, 3);
        uplink->handle_connected();
        ASSERT_EQ(mqtt.published.size(), 1u);
        answer(0, code);
        EXPECT_EQ(waiting(), 0u) << code;
        EXPECT_EQ(uplink->counters().samples_rejected, 3u) << code;
    }
}

// Found with fuzz_kaa_messages' accounting check: the code was narrowed to int, so
// 4294967696 (2^32 + 400) read as 400 and the batch was dropped for good.
TEST_F(KaaSemanticsTest, AStatusCodeTooLargeForAnIntHoldsTheBatch) {
    make();
    add(0, 3);
    uplink->handle_connected();
    ASSERT_EQ(mqtt.published.size(), 1u);
    for (const char* code : {"4294967696", "-4294966896", "18446744073709551615"}) {
        const size_t before = mqtt.published.size();
        uplink->handle_message(mqtt.published.back().topic + "/error",
                               std::string("{\"statusCode\":") + code + ",\"reasonPhrase\":\"x\"}");
        EXPECT_EQ(waiting(), 3u) << code;
        EXPECT_EQ(uplink->counters().samples_rejected, 0u) << code;
        for (int step = 0; step < 700 && mqtt.published.size() == before; ++step)
            pass(milliseconds(100));
        ASSERT_EQ(mqtt.published.size(), before + 1) << code << ": sent again";
    }
}

TEST_F(KaaSemanticsTest, AHeldMeterDoesNotHoldTheOthers) {
    make();
    add(0, 2);
    add(1, 2);
    uplink->handle_connected();
    ASSERT_EQ(mqtt.published.size(), 2u);
    answer(0, 401);
    answer(1, 0);
    add(1, 2, 5000);
    uplink->pump();
    ASSERT_EQ(mqtt.published.size(), 3u);
    EXPECT_NE(mqtt.published[2].topic.find("tok-water"), std::string::npos);
}

TEST_F(KaaSemanticsTest, MetadataIsHeldToo) {
    make();
    uplink->set_metadata(MetadataUpdate{0, {{"model", "A300"}}});
    uplink->handle_connected();
    ASSERT_EQ(mqtt.published.size(), 1u);
    answer(0, 403);
    uplink->pump();
    EXPECT_EQ(mqtt.published.size(), 1u);  // not at once: held
    pass(seconds(2));
    ASSERT_EQ(mqtt.published.size(), 2u);
    EXPECT_EQ(mqtt.published[1].payload, R"({"model":"A300"})");
    answer(1, 422);  // refused for good: not again until the keys change
    pass(seconds(120));
    EXPECT_EQ(mqtt.published.size(), 2u);
    uplink->set_metadata(MetadataUpdate{0, {{"model", "A301"}}});
    uplink->pump();
    EXPECT_EQ(mqtt.published.size(), 3u);
}

TEST_F(KaaSemanticsTest, NoPublishIsLargerThanBatchBytesAndEverySampleGoes) {
    make(4096);
    add(0, 300, 1000, 100);  // ~125 bytes each: ~32 a publish
    uplink->handle_connected();
    uint64_t delivered = 0;
    for (size_t i = 0; i < mqtt.published.size() && i < 1000; ++i) {
        EXPECT_LE(mqtt.published[i].payload.size(), 4096u);
        delivered += nlohmann::json::parse(mqtt.published[i].payload).size();
        answer(i, 0);
        uplink->pump();
    }
    EXPECT_EQ(delivered, 300u);
    EXPECT_EQ(waiting(), 0u);
    EXPECT_GT(mqtt.published.size(), 9u);
}

TEST_F(KaaSemanticsTest, MetadataLargerThanBatchBytesGoesInParts) {
    make(4096);
    nlohmann::json keys = nlohmann::json::object();
    for (int i = 0; i < 50; ++i)
        keys["key" + std::to_string(i)] = std::string(200, 'm');
    uplink->set_metadata(MetadataUpdate{0, keys});
    uplink->handle_connected();
    ASSERT_GT(mqtt.published.size(), 2u);
    nlohmann::json merged = nlohmann::json::object();
    for (const auto& p : mqtt.published) {
        EXPECT_NE(p.topic.find("/epmx/tok-heat/update/keys/"), std::string::npos);
        EXPECT_LE(p.payload.size(), 4096u);
        merged.update(nlohmann::json::parse(p.payload));
    }
    EXPECT_EQ(merged, keys);
}

TEST_F(KaaSemanticsTest, ReadTimesGoOutInTheConfiguredFormat) {
    make(256 * 1024, {"ts", config::TimestampFormat::kIso8601});
    add(0, 1, 1'764'586'635'007);
    uplink->handle_connected();
    ASSERT_EQ(mqtt.published.size(), 1u);
    EXPECT_EQ(mqtt.published[0].payload, R"([{"ts":"2025-12-01T10:57:15.007Z","v":"x"}])");
}

TEST_F(KaaSemanticsTest, AnUnsendableReadTimeIsDeletedCountedAndNeverSent) {
    make();
    add(0, 1, -1000);
    add(0, 1, 2000);
    uplink->handle_connected();
    ASSERT_EQ(mqtt.published.size(), 1u);
    EXPECT_EQ(mqtt.published[0].payload, R"([{"timestamp":2000,"v":"x"}])");
    EXPECT_EQ(uplink->counters().samples_bad_time, 1u);
    answer(0, 0);
    EXPECT_EQ(waiting(), 0u);
}

}  // namespace
}  // namespace kaa::uplink
