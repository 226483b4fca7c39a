// EventQueue waiting through the Clock: a simulated clock drives the consumer's deadlines.
#include <gtest/gtest.h>

#include <deque>
#include <optional>

#include "core/event_queue.hpp"
#include "tests/fakes/fake_clock.hpp"

namespace kaa {
namespace {

using std::chrono::milliseconds;

TEST(EventQueueTest, QueuedEventsAreDrainedAtOnceWithoutMovingTime) {
    fakes::FakeClock clock;
    EventQueue<int> queue(clock);
    queue.push(1);
    queue.push(2);
    const auto t0 = clock.now();
    std::deque<int> out;
    queue.wait_drain(out, std::optional<Clock::Monotonic>(t0 + milliseconds(500)));
    EXPECT_EQ(out, (std::deque<int>{1, 2}));
    EXPECT_EQ(clock.now(), t0);
    EXPECT_EQ(queue.size(), 0u);
}

TEST(EventQueueTest, AnEmptyQueueWaitsUntilTheDeadlineInSimulatedTime) {
    fakes::FakeClock clock;
    EventQueue<int> queue(clock);
    const auto deadline = clock.now() + std::chrono::minutes(5);
    std::deque<int> out;
    queue.wait_drain(out, std::optional<Clock::Monotonic>(deadline));
    EXPECT_TRUE(out.empty());
    EXPECT_EQ(clock.now(), deadline);
}

TEST(EventQueueTest, GatheringWaitsForTheWholeWindowEvenWithEventsQueued) {
    fakes::FakeClock clock;
    EventQueue<int> queue(clock);
    queue.push(7);
    const auto deadline = clock.now() + milliseconds(50);
    std::deque<int> out;
    queue.wait_drain(out, std::optional<Clock::Monotonic>(deadline), /*until_deadline=*/true);
    EXPECT_EQ(out, (std::deque<int>{7}));
    EXPECT_EQ(clock.now(), deadline);
}

TEST(EventQueueTest, WithoutADeadlineItReturnsOnceAnEventIsThere) {
    fakes::FakeClock clock;
    EventQueue<int> queue(clock);
    queue.push(3);
    std::deque<int> out;
    queue.wait_drain(out, std::optional<Clock::Monotonic>());
    EXPECT_EQ(out, (std::deque<int>{3}));
}

TEST(EventQueueTest, AnUrgentEventGoesAheadOfAFlood) {
    fakes::FakeClock clock;
    EventQueue<int> queue(clock);
    for (int i = 0; i < 1000; ++i)
        queue.push(i);
    queue.push_front(-15);
    std::deque<int> out;
    queue.wait_drain(out, std::optional<Clock::Monotonic>(clock.now()));
    ASSERT_EQ(out.size(), 1001u);
    EXPECT_EQ(out.front(), -15);
    EXPECT_EQ(out[1], 0);
}

TEST(EventQueueTest, ABoundedPushRefusesOnceTheLimitWaits) {
    fakes::FakeClock clock;
    EventQueue<int> queue(clock);
    int added = 0;
    for (int i = 0; i < 100'000; ++i)
        added += queue.push_if_below(i, 20) ? 1 : 0;
    EXPECT_EQ(added, 20);
    EXPECT_EQ(queue.size(), 20u);
    queue.push(99);  // an unbounded push (a sample) still goes in
    EXPECT_EQ(queue.size(), 21u);
}

}  // namespace
}  // namespace kaa
