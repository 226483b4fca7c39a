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

}  // namespace
}  // namespace kaa
