// kaa.live_window: a meter's live readings wait for company before they go, so that one
// request carries several polls' readings; the backlog and other meters are not held back.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/clock.hpp"
#include "tests/fakes/uplink_rig.hpp"

namespace kaa::uplink {
namespace {

using std::chrono::milliseconds;

/// The read times carried by one DCX payload.
std::vector<int64_t> read_times(const std::string& payload) {
    std::vector<int64_t> out;
    for (const auto& s : nlohmann::json::parse(payload))
        out.push_back(s["timestamp"].get<int64_t>());
    return out;
}

class LiveWindowTest : public ::testing::Test, protected fakes::UplinkRig {
  protected:
    void make(milliseconds window, size_t batch = 500, size_t in_flight = 8) {
        UplinkSettings s;
        s.app_version = "demo_v1";
        s.batch = batch;
        s.max_in_flight = in_flight;
        s.live_window = window;
        UplinkRig::make(std::move(s));
    }
    /// One poll's reading of `meter`, handed to the uplink as the main loop does.
    void poll(size_t meter, int64_t read_ms) {
        ASSERT_TRUE(store.append({BufferedSample{meter, read_ms, "{\"v\":1}"}}).ok());
        uplink->pump();
    }
};

TEST_F(LiveWindowTest, ReadingsOfOneWindowGoInOneRequestWhenItCloses) {
    make(milliseconds(1000));
    uplink->handle_connected();
    const Clock::Monotonic start = clock.now();
    for (int i = 0; i < 10; ++i) {
        poll(0, 1000 + 100 * i);
        EXPECT_EQ(mqtt.published.size(), 0u) << "poll " << i;
        ASSERT_TRUE(uplink->next_deadline());
        EXPECT_EQ(*uplink->next_deadline(), start + milliseconds(1000));
        clock.advance(milliseconds(100));
    }
    uplink->pump();  // the window has closed: 1 s after the first reading was seen
    ASSERT_EQ(mqtt.published.size(), 1u);
    EXPECT_EQ(mqtt.published[0].topic, "kp1/demo_v1/dcx/tok-heat/json/1");
    EXPECT_EQ(read_times(mqtt.published[0].payload),
              (std::vector<int64_t>{1000, 1100, 1200, 1300, 1400, 1500, 1600, 1700, 1800, 1900}));
    EXPECT_FALSE(uplink->next_deadline() &&
                 *uplink->next_deadline() < clock.now() + milliseconds(1000))
        << "only the request's response timeout is due";
}

TEST_F(LiveWindowTest, TheNextReadingStartsANewWindow) {
    make(milliseconds(500));
    uplink->handle_connected();
    poll(0, 1000);
    clock.advance(milliseconds(500));
    uplink->pump();
    ASSERT_EQ(mqtt.published.size(), 1u);
    clock.advance(milliseconds(100));
    poll(0, 1600);
    EXPECT_EQ(mqtt.published.size(), 1u);  // waits its own window, not the old one's
    clock.advance(milliseconds(499));
    uplink->pump();
    EXPECT_EQ(mqtt.published.size(), 1u);
    clock.advance(milliseconds(1));
    uplink->pump();
    ASSERT_EQ(mqtt.published.size(), 2u);
    EXPECT_EQ(read_times(mqtt.published[1].payload), (std::vector<int64_t>{1600}));
}

TEST_F(LiveWindowTest, EachMeterHasItsOwnWindow) {
    make(milliseconds(1000));
    uplink->handle_connected();
    poll(0, 1000);
    clock.advance(milliseconds(400));
    poll(1, 1400);
    clock.advance(milliseconds(600));
    uplink->pump();
    ASSERT_EQ(mqtt.published.size(), 1u);
    EXPECT_EQ(mqtt.published[0].topic, "kp1/demo_v1/dcx/tok-heat/json/1");
    clock.advance(milliseconds(400));
    uplink->pump();
    ASSERT_EQ(mqtt.published.size(), 2u);
    EXPECT_EQ(mqtt.published[1].topic, "kp1/demo_v1/dcx/tok-water/json/2");
}

TEST_F(LiveWindowTest, TheBacklogIsNotHeldBackByTheWindow) {
    make(milliseconds(1000), 2);
    ASSERT_TRUE(
        store.append({BufferedSample{0, 10, "{\"v\":1}"}, BufferedSample{0, 11, "{\"v\":1}"}})
            .ok());  // read while disconnected
    uplink->handle_connected();
    ASSERT_EQ(mqtt.published.size(), 1u);
    EXPECT_EQ(read_times(mqtt.published[0].payload), (std::vector<int64_t>{10, 11}));
    poll(0, 2000);  // live: waits for its window
    EXPECT_EQ(mqtt.published.size(), 1u);
}

TEST_F(LiveWindowTest, MoreThanABatchGoesAtOnceOnceTheWindowCloses) {
    make(milliseconds(1000), 4);
    uplink->handle_connected();
    for (int i = 0; i < 10; ++i)
        poll(0, 1000 + i);
    clock.advance(milliseconds(1000));
    uplink->pump();
    ASSERT_EQ(mqtt.published.size(), 3u);  // 4 + 4 + 2, not one batch per window
    EXPECT_EQ(read_times(mqtt.published[2].payload), (std::vector<int64_t>{1008, 1009}));
}

TEST_F(LiveWindowTest, NoDeadlineWhileDisconnectedOrWhenNothingCanGo) {
    make(milliseconds(1000), 500, 1);
    uplink->handle_connected();
    poll(0, 1000);
    clock.advance(milliseconds(1000));
    uplink->pump();
    ASSERT_EQ(mqtt.published.size(), 1u);
    poll(0, 2000);
    clock.advance(milliseconds(2000));
    uplink->pump();  // max_in_flight 1 is taken: the window closed, but nothing can go
    EXPECT_EQ(mqtt.published.size(), 1u);
    ASSERT_TRUE(uplink->next_deadline());
    EXPECT_GT(*uplink->next_deadline(), clock.now()) << "a due window must not spin the loop";
    uplink->handle_message(mqtt.published[0].topic + "/status", "");
    uplink->pump();
    ASSERT_EQ(mqtt.published.size(), 2u);
    EXPECT_EQ(read_times(mqtt.published[1].payload), (std::vector<int64_t>{2000}));
}

TEST_F(LiveWindowTest, ZeroSendsEachReadingAtOnce) {
    make(milliseconds(0));
    uplink->handle_connected();
    poll(0, 1000);
    poll(0, 1100);
    EXPECT_EQ(mqtt.published.size(), 2u);
}

}  // namespace
}  // namespace kaa::uplink
