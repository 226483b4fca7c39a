// Poll schedule: earliest due first, fair ties, no bursts after a busy bus.
#include <gtest/gtest.h>

#include "drivers/modbus/poll_schedule.hpp"
#include "tests/fakes/fake_clock.hpp"

namespace kaa::modbus {
namespace {

using std::chrono::milliseconds;

TEST(PollScheduleTest, EveryMeterIsDueAtStartAndPolledInTurn) {
    fakes::FakeClock clock;
    PollSchedule s({milliseconds(1000), milliseconds(1000), milliseconds(1000)}, clock.now());
    std::vector<size_t> order;
    for (int i = 0; i < 3; ++i) {
        const size_t m = s.next();
        order.push_back(m);
        s.completed(m, clock.now());
    }
    EXPECT_EQ(order, (std::vector<size_t>{0, 1, 2}));
    EXPECT_EQ(s.due(0), clock.now() + milliseconds(1000));
}

TEST(PollScheduleTest, FasterMeterIsPolledMoreOftenWithoutStarvingTheSlowOne) {
    fakes::FakeClock clock;
    PollSchedule s({milliseconds(100), milliseconds(1000)}, clock.now());
    std::vector<int> polls(2, 0);
    const auto end = clock.now() + milliseconds(10'000);
    while (true) {
        const size_t m = s.next();
        if (s.due(m) >= end)
            break;
        if (s.due(m) > clock.now())
            clock.advance(std::chrono::duration_cast<milliseconds>(s.due(m) - clock.now()));
        ++polls[m];
        clock.advance(milliseconds(5));  // the request takes 5 ms
        s.completed(m, clock.now());
    }
    EXPECT_EQ(polls[0], 100);
    EXPECT_EQ(polls[1], 10);
}

TEST(PollScheduleTest, ALateMeterIsDueNowNotInABurst) {
    fakes::FakeClock clock;
    PollSchedule s({milliseconds(100)}, clock.now());
    clock.advance(milliseconds(1000));  // the bus was busy for ten intervals
    s.completed(0, clock.now());
    EXPECT_EQ(s.due(0), clock.now());
    s.completed(0, clock.now());
    EXPECT_EQ(s.due(0), clock.now() + milliseconds(100));
}

TEST(PollScheduleTest, DeferPushesOnlyLater) {
    fakes::FakeClock clock;
    PollSchedule s({milliseconds(100), milliseconds(100)}, clock.now());
    s.defer(0, clock.now() + milliseconds(500));
    EXPECT_EQ(s.next(), 1u);
    s.defer(0, clock.now() + milliseconds(10));
    EXPECT_EQ(s.due(0), clock.now() + milliseconds(500));
}

TEST(FailingMeterDelayTest, NormalIntervalUntilThreeFailuresThenDoublingCappedAtAMinute) {
    const milliseconds second(1000);
    std::vector<long> delays;
    for (int failures = 0; failures <= 10; ++failures)
        delays.push_back(failing_meter_delay(second, failures).count());
    EXPECT_EQ(delays, (std::vector<long>{1000, 1000, 1000, 2000, 4000, 8000, 16000, 32000, 60000,
                                         60000, 60000}));
}

TEST(FailingMeterDelayTest, AnIntervalAboveTheCapIsKept) {
    EXPECT_EQ(failing_meter_delay(milliseconds(120000), 20).count(), 120000);
    EXPECT_EQ(failing_meter_delay(milliseconds(500), 2).count(), 500);
}

TEST(FailingMeterDelayTest, DeferredMeterDoesNotHoldUpTheOthers) {
    const Clock::Monotonic t0{};
    PollSchedule s({milliseconds(1000), milliseconds(1000)}, t0);
    s.completed(0, t0);
    s.defer(0, t0 + failing_meter_delay(milliseconds(1000), 5));  // 8 s
    s.completed(1, t0);
    EXPECT_EQ(s.next(), 1u);
    EXPECT_EQ(s.due(0), t0 + milliseconds(8000));
}

}  // namespace
}  // namespace kaa::modbus
