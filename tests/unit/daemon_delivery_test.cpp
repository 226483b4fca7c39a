// Delivery engine tests: the uplink against a fake MQTT client, a fake clock and the
// in-memory store. Asserts exact topics, payloads, confirmations and re-sends.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/clock.hpp"
#include "daemon/buffer/memory_sample_store.hpp"
#include "daemon/kaa/uplink.hpp"
#include "tests/fakes/fake_clock.hpp"
#include "tests/fakes/fake_mqtt.hpp"

namespace kaa::uplink {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

using fakes::FakeMqtt;

BufferedSample sample(size_t meter, int64_t ts) {
    return BufferedSample{meter, ts, "{\"v\":1}"};
}

/// The request id at the end of a request topic.
uint32_t rid_of(const std::string& topic) {
    return static_cast<uint32_t>(std::stoul(topic.substr(topic.rfind('/') + 1)));
}

class DeliveryTest : public ::testing::Test {
  protected:
    void make(config::Delivery delivery = config::Delivery::kStatus, size_t batch = 500,
              size_t in_flight = 8) {
        UplinkSettings s;
        s.app_version = "demo_v1";
        s.delivery = delivery;
        s.response_timeout = seconds(30);
        s.batch = batch;
        s.max_in_flight = in_flight;
        s.retry_seed = 42;  // the jitter of the 5xx holds, the same in every run
        uplink = std::make_unique<Uplink>(
            s, std::vector<Endpoint>{{"heat", "tok-heat"}, {"water", "tok-water"}}, mqtt, store,
            clock);
    }
    /// Samples still in the store once the uplink has flushed its deletions.
    uint64_t waiting() {
        uplink->flush_removals();
        return store.stats().samples;
    }
    void add(size_t meter, int count, int64_t first_ts = 1000) {
        std::vector<BufferedSample> v;
        for (int i = 0; i < count; ++i)
            v.push_back(sample(meter, first_ts + i));
        ASSERT_TRUE(store.append(v).ok());
    }

    fakes::FakeClock clock;
    FakeMqtt mqtt;
    MemorySampleStore store{2, 1 << 20, config::Overflow::kDropOldest};
    std::unique_ptr<Uplink> uplink;
};

TEST_F(DeliveryTest, SubscribesToEveryReplyTopicOnConnect) {
    make();
    uplink->handle_connected();
    EXPECT_EQ(
        mqtt.subscriptions,
        (std::vector<std::string>{
            "kp1/demo_v1/dcx/+/json/+/status", "kp1/demo_v1/dcx/+/json/+/error",
            "kp1/demo_v1/epmx/+/update/keys/+/status", "kp1/demo_v1/epmx/+/update/keys/+/error"}));
}

TEST_F(DeliveryTest, MetadataGoesFirstThenSamplesAsOneArrayPerMeter) {
    make();
    uplink->set_metadata(MetadataUpdate{0, {{"model", "A300"}}});
    add(0, 2);
    uplink->handle_connected();
    ASSERT_EQ(mqtt.published.size(), 2u);
    EXPECT_EQ(mqtt.published[0].topic, "kp1/demo_v1/epmx/tok-heat/update/keys/1");
    EXPECT_EQ(mqtt.published[0].payload, R"({"model":"A300"})");
    EXPECT_EQ(mqtt.published[1].topic, "kp1/demo_v1/dcx/tok-heat/json/2");
    EXPECT_EQ(mqtt.published[1].payload, R"([{"timestamp":1000,"v":1},{"timestamp":1001,"v":1}])");
    EXPECT_EQ(mqtt.published[1].qos, 1);
}

TEST_F(DeliveryTest, StatusReplyDeletesTheBatch) {
    make();
    add(0, 3);
    uplink->handle_connected();
    ASSERT_EQ(mqtt.published.size(), 1u);
    EXPECT_EQ(waiting(), 3u);
    uplink->handle_message(mqtt.published[0].topic + "/status", "");
    EXPECT_EQ(waiting(), 0u);
    EXPECT_EQ(uplink->counters().samples_delivered, 3u);
    EXPECT_EQ(uplink->in_flight(), 0u);
}

TEST_F(DeliveryTest, PubackAloneDoesNotConfirmInStatusMode) {
    make();
    add(0, 1);
    uplink->handle_connected();
    uplink->handle_published(mqtt.published[0].mid);
    EXPECT_EQ(waiting(), 1u);
    EXPECT_EQ(uplink->in_flight(), 1u);
}

TEST_F(DeliveryTest, ClientErrorDropsTheBatchAndCountsIt) {
    make();
    add(1, 4);
    uplink->handle_connected();
    uplink->handle_message(mqtt.published[0].topic + "/error",
                           R"({"statusCode":400,"reasonPhrase":"Bad sample"})");
    EXPECT_EQ(waiting(), 0u);
    EXPECT_EQ(uplink->counters().samples_rejected, 4u);
    EXPECT_EQ(uplink->counters().samples_delivered, 0u);
    EXPECT_EQ(mqtt.published.size(), 1u);  // not sent again
}

TEST_F(DeliveryTest, ServerErrorSendsTheSameSamplesAgainWithANewRequestId) {
    make();
    add(0, 2);
    uplink->handle_connected();
    const auto first = mqtt.published[0];
    uplink->handle_message(first.topic + "/error",
                           R"({"statusCode":503,"reasonPhrase":"Unavailable"})");
    uplink->pump();
    EXPECT_EQ(mqtt.published.size(), 1u);  // held back for the retry delay
    ASSERT_TRUE(uplink->next_deadline());
    EXPECT_EQ(*uplink->next_deadline(), clock.now() + seconds(1));
    clock.advance(seconds(1));
    uplink->pump();
    ASSERT_EQ(mqtt.published.size(), 2u);
    EXPECT_EQ(mqtt.published[1].payload, first.payload);
    EXPECT_NE(rid_of(mqtt.published[1].topic), rid_of(first.topic));
    EXPECT_EQ(uplink->counters().batches_resent, 1u);
}

TEST_F(DeliveryTest, UnreadableErrorPayloadIsRetriedNotDropped) {
    make();
    add(0, 1);
    uplink->handle_connected();
    uplink->handle_message(mqtt.published[0].topic + "/error", "not json");
    clock.advance(seconds(1));
    uplink->pump();
    EXPECT_EQ(mqtt.published.size(), 2u);
    EXPECT_EQ(waiting(), 1u);
}

/// The last request published under `token`.
const FakeMqtt::Publish* last_of(const FakeMqtt& mqtt, const std::string& token) {
    const FakeMqtt::Publish* last = nullptr;
    for (const auto& p : mqtt.published) {
        if (p.topic.find(token) != std::string::npos)
            last = &p;
    }
    return last;
}

TEST_F(DeliveryTest, RepeatedServerErrorsHoldTheMeterWithinJitteredBoundsAndOthersFlow) {
    make();
    add(0, 1);
    add(1, 1, 5000);
    uplink->handle_connected();
    ASSERT_EQ(mqtt.published.size(), 2u);
    uplink->handle_message(mqtt.published[1].topic + "/status", "");
    const std::string heat_payload = mqtt.published[0].payload;
    std::vector<int64_t> delays;
    for (int round = 0; round < 10; ++round) {
        const auto* heat = last_of(mqtt, "tok-heat");
        ASSERT_NE(heat, nullptr);
        uplink->handle_message(heat->topic + "/error", R"({"statusCode":500,"reasonPhrase":"x"})");
        // While the heat meter is held, the water meter's new readings go out at once.
        add(1, 1, 6000 + round);
        uplink->pump();
        const auto* water = last_of(mqtt, "tok-water");
        ASSERT_EQ(water, &mqtt.published.back()) << "round " << round;
        uplink->handle_message(water->topic + "/status", "");
        // Only the hold is left to wait for: its delay lies in [1 s, min(60 s, 1 s * 2^n)].
        ASSERT_TRUE(uplink->next_deadline());
        const auto delay =
            std::chrono::duration_cast<milliseconds>(*uplink->next_deadline() - clock.now());
        const int64_t ceiling = std::min<int64_t>(60000, 1000LL << round);
        EXPECT_GE(delay.count(), 1000) << "round " << round;
        EXPECT_LE(delay.count(), ceiling) << "round " << round;
        delays.push_back(delay.count());
        // Not sent again a moment before the delay is over; sent again when it is.
        const auto before = mqtt.published.size();
        clock.advance(delay - milliseconds(1));
        uplink->pump();
        EXPECT_EQ(mqtt.published.size(), before) << "round " << round;
        clock.advance(milliseconds(1));
        uplink->pump();
        ASSERT_EQ(mqtt.published.size(), before + 1) << "round " << round;
        EXPECT_EQ(mqtt.published.back().payload, heat_payload) << "round " << round;
    }
    // Jittered: not the plain doubling 1, 2, 4 ... 60 s.
    EXPECT_NE(delays, (std::vector<int64_t>{1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000,
                                            60000, 60000}));
    EXPECT_EQ(uplink->counters().samples_delivered, 11u);
    // A confirmation ends the hold: the next 5xx waits the minimum again.
    uplink->handle_message(last_of(mqtt, "tok-heat")->topic + "/status", "");
    add(0, 1, 9000);
    uplink->pump();
    uplink->handle_message(last_of(mqtt, "tok-heat")->topic + "/error",
                           R"({"statusCode":503,"reasonPhrase":"x"})");
    ASSERT_TRUE(uplink->next_deadline());
    EXPECT_EQ(*uplink->next_deadline(), clock.now() + seconds(1));
}

TEST_F(DeliveryTest, SilenceSendsAgainAfterTheResponseTimeout) {
    make();
    add(0, 1);
    uplink->handle_connected();
    ASSERT_TRUE(uplink->next_deadline().has_value());
    EXPECT_EQ(*uplink->next_deadline(), clock.now() + seconds(30));
    clock.advance(seconds(29));
    uplink->check_timeouts();
    uplink->pump();
    EXPECT_EQ(mqtt.published.size(), 1u);
    clock.advance(seconds(1));
    uplink->check_timeouts();
    uplink->pump();
    ASSERT_EQ(mqtt.published.size(), 2u);
    EXPECT_EQ(mqtt.published[1].payload, mqtt.published[0].payload);
}

TEST_F(DeliveryTest, ALateStatusForAReplacedRequestIsIgnored) {
    make();
    add(0, 1);
    uplink->handle_connected();
    clock.advance(seconds(30));
    uplink->check_timeouts();
    uplink->pump();
    ASSERT_EQ(mqtt.published.size(), 2u);
    uplink->handle_message(mqtt.published[0].topic + "/status", "");
    EXPECT_EQ(waiting(), 1u);
    uplink->handle_message(mqtt.published[1].topic + "/status", "");
    EXPECT_EQ(waiting(), 0u);
    EXPECT_EQ(uplink->counters().samples_delivered, 1u);
}

TEST_F(DeliveryTest, AReplyNamingAnotherTokenDoesNotConfirm) {
    make();
    add(0, 1);
    uplink->handle_connected();
    const uint32_t rid = rid_of(mqtt.published[0].topic);
    uplink->handle_message("kp1/demo_v1/dcx/tok-water/json/" + std::to_string(rid) + "/status", "");
    EXPECT_EQ(waiting(), 1u);
}

TEST_F(DeliveryTest, BacklogGoesOutInBatchesInOrderWithBoundedInFlight) {
    make(config::Delivery::kStatus, 500, 2);
    add(0, 1200);
    uplink->handle_connected();
    ASSERT_EQ(mqtt.published.size(), 2u);  // window of 2
    auto count = [](const std::string& payload) { return nlohmann::json::parse(payload).size(); };
    EXPECT_EQ(count(mqtt.published[0].payload), 500u);
    EXPECT_EQ(nlohmann::json::parse(mqtt.published[0].payload)[0]["timestamp"], 1000);
    EXPECT_EQ(nlohmann::json::parse(mqtt.published[1].payload)[0]["timestamp"], 1500);
    uplink->handle_message(mqtt.published[0].topic + "/status", "");
    uplink->pump();
    ASSERT_EQ(mqtt.published.size(), 3u);
    EXPECT_EQ(count(mqtt.published[2].payload), 200u);
    EXPECT_EQ(nlohmann::json::parse(mqtt.published[2].payload)[0]["timestamp"], 2000);
}

TEST_F(DeliveryTest, AfterAReconnectLiveReadingsGoBeforeTheBacklog) {
    make(config::Delivery::kStatus, 2, 1);
    add(0, 5);  // read while disconnected: the backlog
    uplink->handle_connected();
    ASSERT_EQ(mqtt.published.size(), 1u);
    EXPECT_EQ(mqtt.published[0].payload, R"([{"timestamp":1000,"v":1},{"timestamp":1001,"v":1}])");
    add(1, 1, 7000);  // live readings of both meters arrive while the window is full
    add(0, 1, 9000);
    uplink->handle_message(mqtt.published[0].topic + "/status", "");
    uplink->pump();
    ASSERT_EQ(mqtt.published.size(), 2u);
    EXPECT_EQ(mqtt.published[1].payload, R"([{"timestamp":9000,"v":1}])");
    uplink->handle_message(mqtt.published[1].topic + "/status", "");
    uplink->pump();
    ASSERT_EQ(mqtt.published.size(), 3u);
    EXPECT_EQ(mqtt.published[2].topic.substr(0, 24), "kp1/demo_v1/dcx/tok-wate");
    EXPECT_EQ(mqtt.published[2].payload, R"([{"timestamp":7000,"v":1}])");
    uplink->handle_message(mqtt.published[2].topic + "/status", "");
    uplink->pump();
    ASSERT_EQ(mqtt.published.size(), 4u);  // then the backlog, in its order
    EXPECT_EQ(mqtt.published[3].payload, R"([{"timestamp":1002,"v":1},{"timestamp":1003,"v":1}])");
}

TEST_F(DeliveryTest, MetersTakeTurns) {
    make(config::Delivery::kStatus, 1, 8);
    add(0, 3);
    add(1, 3, 5000);
    uplink->handle_connected();
    ASSERT_EQ(mqtt.published.size(), 6u);
    EXPECT_NE(mqtt.published[0].topic.find("tok-heat"), std::string::npos);
    EXPECT_NE(mqtt.published[1].topic.find("tok-water"), std::string::npos);
    EXPECT_NE(mqtt.published[2].topic.find("tok-heat"), std::string::npos);
}

TEST_F(DeliveryTest, DisconnectReleasesEverythingAndReconnectSendsMetadataAgain) {
    make();
    uplink->set_metadata(MetadataUpdate{1, {{"serial", "SN1"}}});
    add(1, 2);
    uplink->handle_connected();
    ASSERT_EQ(mqtt.published.size(), 2u);
    mqtt.up = false;
    uplink->handle_disconnected("broker went away");
    EXPECT_EQ(uplink->in_flight(), 0u);
    add(1, 1, 3000);
    uplink->pump();
    EXPECT_EQ(mqtt.published.size(), 2u);
    mqtt.up = true;
    uplink->handle_connected();
    ASSERT_EQ(mqtt.published.size(), 4u);
    EXPECT_NE(mqtt.published[2].topic.find("/epmx/tok-water/update/keys/"), std::string::npos);
    EXPECT_EQ(nlohmann::json::parse(mqtt.published[3].payload).size(), 3u);
}

TEST_F(DeliveryTest, OnlyChangedMetadataKeysAreSentAgainAndEveryKeyAfterAConnect) {
    make();
    uplink->set_metadata(MetadataUpdate{0, {{"model", "A300"}, {"tariff", 1}}});
    uplink->handle_connected();
    uplink->handle_message(mqtt.published[0].topic + "/status", "");
    EXPECT_EQ(uplink->counters().metadata_confirmed, 1u);
    uplink->set_metadata(MetadataUpdate{0, {{"serial_number", 12345}, {"tariff", 1}}});
    uplink->pump();
    ASSERT_EQ(mqtt.published.size(), 2u);
    EXPECT_EQ(mqtt.published[1].payload, R"({"serial_number":12345})");
    uplink->handle_message(mqtt.published[1].topic + "/status", "");
    uplink->set_metadata(MetadataUpdate{0, {{"serial_number", 12345}, {"tariff", 1}}});
    uplink->pump();
    EXPECT_EQ(mqtt.published.size(), 2u);  // unchanged keys are not sent again
    uplink->set_metadata(MetadataUpdate{0, {{"tariff", 2}}});
    uplink->pump();
    ASSERT_EQ(mqtt.published.size(), 3u);
    EXPECT_EQ(mqtt.published[2].payload, R"({"tariff":2})");
    // A send that is not confirmed is sent again whole, and so is everything after a connect.
    uplink->handle_disconnected("gone");
    uplink->handle_connected();
    ASSERT_EQ(mqtt.published.size(), 4u);
    EXPECT_EQ(mqtt.published[3].payload, R"({"model":"A300","serial_number":12345,"tariff":2})");
}

TEST_F(DeliveryTest, PubackModeConfirmsOnAcknowledgement) {
    make(config::Delivery::kPuback);
    add(0, 2);
    uplink->handle_connected();
    uplink->handle_published(mqtt.published[0].mid);
    EXPECT_EQ(waiting(), 0u);
    EXPECT_EQ(uplink->counters().samples_delivered, 2u);
}

TEST_F(DeliveryTest, NoneModeConfirmsWhenTheClientReportsItSent) {
    make(config::Delivery::kNone);
    add(0, 2);
    uplink->handle_connected();
    EXPECT_EQ(waiting(), 2u);
    uplink->handle_published(mqtt.published[0].mid);
    EXPECT_EQ(waiting(), 0u);
}

TEST_F(DeliveryTest, RequestIdsStayUniqueAcrossWrapAround) {
    make(config::Delivery::kStatus, 1, 8);
    add(0, 3);
    uplink->handle_connected();
    std::set<uint32_t> rids;
    for (const auto& p : mqtt.published)
        rids.insert(rid_of(p.topic));
    EXPECT_EQ(rids.size(), 3u);
    EXPECT_EQ(*rids.begin(), 1u);
}

/// A store whose meter 0 claims samples it cannot read (as after a read error).
class UnreadableMeterStore final : public SampleStore {
  public:
    using SampleStore::append;
    Status append(const std::vector<BufferedSample>& samples, size_t& stored) override {
        return inner.append(samples, stored);
    }
    std::vector<StoredSample> take(size_t meter, size_t max, Lane lane) override {
        ++takes;
        return meter == 0 ? std::vector<StoredSample>{} : inner.take(meter, max, lane);
    }
    void start_live() override { inner.start_live(); }
    void release(const std::vector<uint64_t>& ids) override { inner.release(ids); }
    Status remove(const std::vector<uint64_t>& ids) override { return inner.remove(ids); }
    bool has_pending(size_t meter, Lane lane) const override {
        return meter == 0 || inner.has_pending(meter, lane);
    }
    StoreStats stats() const override { return inner.stats(); }
    size_t add_meter(const std::string& name) override { return inner.add_meter(name); }
    Status shift_read_times(int64_t offset_ms) override {
        return inner.shift_read_times(offset_ms);
    }

    MemorySampleStore inner{2, 1 << 20, config::Overflow::kDropOldest};
    int takes = 0;
};

TEST(DeliveryReadErrorTest, AMeterWhoseSamplesCannotBeReadDoesNotStallTheOthersOrSpin) {
    fakes::FakeClock clock;
    FakeMqtt mqtt;
    UnreadableMeterStore store;
    ASSERT_TRUE(store.append({sample(1, 5000)}).ok());
    UplinkSettings s;
    s.app_version = "demo_v1";
    Uplink uplink(s, {{"heat", "tok-heat"}, {"water", "tok-water"}}, mqtt, store, clock);
    uplink.handle_connected();  // pumps: must return although meter 0 never yields samples
    ASSERT_EQ(mqtt.published.size(), 1u);
    EXPECT_EQ(mqtt.published[0].topic.substr(0, 25), "kp1/demo_v1/dcx/tok-water");
    EXPECT_LT(store.takes, 10);
}

TEST(MemoryStoreTest, DropOldestKeepsTheNewestWithinTheBudget) {
    MemorySampleStore store(1, 3 * (20 + 64), config::Overflow::kDropOldest);
    std::vector<BufferedSample> v;
    for (int i = 0; i < 5; ++i)
        v.push_back(BufferedSample{0, i, std::string(20, 'x')});
    ASSERT_TRUE(store.append(v).ok());
    EXPECT_EQ(store.stats().samples, 3u);
    EXPECT_EQ(store.stats().dropped_overflow, 2u);
    auto taken = store.take(0, 10);
    ASSERT_EQ(taken.size(), 3u);
    EXPECT_EQ(taken[0].read_ms, 2);
}

TEST(MemoryStoreTest, DropNewestRefusesNewSamples) {
    MemorySampleStore store(1, 3 * (20 + 64), config::Overflow::kDropNewest);
    std::vector<BufferedSample> v;
    for (int i = 0; i < 5; ++i)
        v.push_back(BufferedSample{0, i, std::string(20, 'x')});
    ASSERT_TRUE(store.append(v).ok());
    auto taken = store.take(0, 10);
    ASSERT_EQ(taken.size(), 3u);
    EXPECT_EQ(taken[0].read_ms, 0);
    EXPECT_EQ(store.stats().dropped_overflow, 2u);
}

TEST(MemoryStoreTest, ReleasedSamplesComeBackInOrder) {
    MemorySampleStore store(1, 1 << 20, config::Overflow::kDropOldest);
    ASSERT_TRUE(store
                    .append({BufferedSample{0, 1, "a"}, BufferedSample{0, 2, "b"},
                             BufferedSample{0, 3, "c"}})
                    .ok());
    auto first = store.take(0, 2);
    auto rest = store.take(0, 5);
    ASSERT_EQ(rest.size(), 1u);
    store.release({first[0].id, first[1].id});
    EXPECT_TRUE(store.has_pending(0));
    auto again = store.take(0, 5);
    ASSERT_EQ(again.size(), 2u);
    EXPECT_EQ(again[0].record, "a");
    EXPECT_EQ(again[1].record, "b");
}

}  // namespace
}  // namespace kaa::uplink
