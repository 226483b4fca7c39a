// Poll schedule: earliest due first, fair ties, no bursts after a busy bus.
#include <gtest/gtest.h>

#include <set>

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

TEST(PollScheduleTest, ALatePollIsNotFollowedByASecondAtOnce) {
    fakes::FakeClock clock;
    PollSchedule s({milliseconds(100)}, clock.now());
    clock.advance(milliseconds(1000));  // the bus was down (or busy) for ten intervals
    s.completed(0, clock.now());        // the late poll, as soon as the bus could
    EXPECT_EQ(s.due(0), clock.now() + milliseconds(100))
        << "the missed slots are skipped: no second poll in the same millisecond";
    clock.advance(milliseconds(130));  // next slot (at 1100) polled 30 ms late
    s.completed(0, clock.now());
    EXPECT_EQ(s.due(0), clock.now() + milliseconds(70)) << "a little late keeps the phase";
}

TEST(PollScheduleTest, DeferPushesOnlyLater) {
    fakes::FakeClock clock;
    PollSchedule s({milliseconds(100), milliseconds(100)}, clock.now());
    s.defer(0, clock.now() + milliseconds(500));
    EXPECT_EQ(s.next(), 1u);
    s.defer(0, clock.now() + milliseconds(10));
    EXPECT_EQ(s.due(0), clock.now() + milliseconds(500));
}

TEST(FailingMeterDelayTest, NormalIntervalUntilThreeFailuresThenJitteredDoublingCappedAtAMinute) {
    // The old fixed delays are now the ceilings; the floor is always the interval.
    const std::vector<int64_t> ceilings{1000,  1000,  1000,  2000,  4000, 8000,
                                        16000, 32000, 60000, 60000, 60000};
    for (uint64_t seed = 0; seed < 20; ++seed) {
        FailingMeterBackoff backoff(milliseconds(1000), seed);
        for (int failures = 0; failures <= 10; ++failures) {
            EXPECT_EQ(backoff.ceiling(failures).count(), ceilings[failures]) << failures;
            const auto d = backoff.delay(failures).count();
            EXPECT_GE(d, 1000) << "failures " << failures << " seed " << seed;
            EXPECT_LE(d, ceilings[failures]) << "failures " << failures << " seed " << seed;
        }
    }
}

TEST(FailingMeterDelayTest, TheDelaysAreJitteredAndASuccessStartsAgain) {
    FailingMeterBackoff backoff(milliseconds(1000), 3);
    std::set<int64_t> seen;
    for (int failures = 0; failures <= 40; ++failures)
        seen.insert(backoff.delay(failures).count());
    EXPECT_GT(seen.size(), 20u);
    EXPECT_EQ(backoff.delay(0).count(), 1000);
    EXPECT_EQ(backoff.ceiling(3).count(), 1000);  // not yet failed again: the floor
    backoff.delay(1);
    backoff.delay(2);
    EXPECT_EQ(backoff.ceiling(3).count(), 2000);
}

TEST(FailingMeterDelayTest, SameSeedSameDelays) {
    FailingMeterBackoff a(milliseconds(1000), 11);
    FailingMeterBackoff b(milliseconds(1000), 11);
    for (int failures = 0; failures <= 12; ++failures)
        EXPECT_EQ(a.delay(failures), b.delay(failures));
}

TEST(FailingMeterDelayTest, AnIntervalAboveTheCapIsKept) {
    FailingMeterBackoff slow(milliseconds(120000), 1);
    for (int failures = 0; failures <= 20; ++failures)
        EXPECT_EQ(slow.delay(failures).count(), 120000);
    FailingMeterBackoff fast(milliseconds(500), 1);
    EXPECT_EQ(fast.delay(2).count(), 500);
}

TEST(FailingMeterDelayTest, DeferredMeterDoesNotHoldUpTheOthers) {
    const Clock::Monotonic t0{};
    PollSchedule s({milliseconds(1000), milliseconds(1000)}, t0);
    s.completed(0, t0);
    s.defer(0, t0 + milliseconds(8000));  // a failing meter's backoff
    s.completed(1, t0);
    EXPECT_EQ(s.next(), 1u);
    EXPECT_EQ(s.due(0), t0 + milliseconds(8000));
}

}  // namespace
}  // namespace kaa::modbus
