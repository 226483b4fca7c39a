// The clock rules in simulated time: readings before a sync are corrected exactly by the
// step the sync made, and only those; a step while running is reported; a clock that never
// syncs is given up on after max_unsynced; a probe that cannot tell trusts the clock.
#include <gtest/gtest.h>

#include "core/clock_watch.hpp"
#include "tests/fakes/fake_clock.hpp"

namespace kaa {
namespace {

using namespace std::chrono_literals;

// fake-hwclock restores the time saved at the last shutdown: here 2026-01-01 00:00 UTC,
// while the real time is 3 days, 4 hours and 5.123 seconds later.
constexpr int64_t kRestoredMs = 1'767'225'600'000;
constexpr int64_t kRealOffsetMs = ((3 * 24 + 4) * 3600 + 5) * 1000 + 123;

struct Reading {
    int64_t read_ms;
    int64_t read_mono_ms;
};

class ClockWatchTest : public ::testing::Test {
  protected:
    ClockWatchTest() { clock_.set_wall_ms(kRestoredMs); }
    ClockChange look(std::optional<bool> synced) {
        return watch_.observe(clock_.now(), clock_.wall_ms(), synced);
    }
    Reading read_now() const { return {clock_.wall_ms(), monotonic_ms(clock_.now())}; }

    fakes::FakeClock clock_;
    ClockWatch watch_{10min};
};

TEST_F(ClockWatchTest, ReadingsBeforeTheSyncAreCorrectedExactlyByItsStep) {
    EXPECT_EQ(look(false).kind, ClockChange::Kind::kNone);
    EXPECT_TRUE(watch_.holding());
    std::vector<Reading> before;
    for (int i = 0; i < 120; ++i) {  // two minutes of readings, one a second
        before.push_back(read_now());
        clock_.advance(1s);
        EXPECT_EQ(look(false).kind, ClockChange::Kind::kNone);
    }
    // The reading in flight when NTP steps the clock: read just before the step.
    const Reading just_before = read_now();
    clock_.set_wall_ms(clock_.wall_ms() + kRealOffsetMs);  // NTP steps the clock
    const Reading just_after = read_now();
    clock_.advance(300ms);
    const ClockChange sync = look(true);
    EXPECT_EQ(sync.kind, ClockChange::Kind::kSynced);
    EXPECT_EQ(sync.offset_ms, kRealOffsetMs);
    EXPECT_FALSE(watch_.holding());
    EXPECT_EQ(watch_.state(), ClockState::kSynced);

    for (size_t i = 0; i < before.size(); ++i) {
        EXPECT_EQ(watch_.restamp(before[i].read_ms, before[i].read_mono_ms),
                  kRestoredMs + static_cast<int64_t>(i) * 1000 + kRealOffsetMs);
    }
    EXPECT_EQ(watch_.restamp(just_before.read_ms, just_before.read_mono_ms),
              just_before.read_ms + kRealOffsetMs);
    EXPECT_EQ(watch_.restamp(just_after.read_ms, just_after.read_mono_ms), just_after.read_ms)
        << "read after the step: already right";
    clock_.advance(1s);
    const Reading later = read_now();
    EXPECT_EQ(watch_.restamp(later.read_ms, later.read_mono_ms), later.read_ms);
}

TEST_F(ClockWatchTest, ASlewingClockWhileWaitingKeepsTheCorrectionExact) {
    look(false);
    clock_.advance(1s);
    clock_.set_wall_ms(clock_.wall_ms() + 20);  // a few ms of slew, no step
    look(false);
    const Reading r = read_now();
    clock_.advance(1s);
    clock_.set_wall_ms(clock_.wall_ms() + 5000);
    const ClockChange sync = look(true);
    EXPECT_EQ(sync.offset_ms, 5000);
    EXPECT_EQ(watch_.restamp(r.read_ms, r.read_mono_ms), r.read_ms + 5000);
}

TEST_F(ClockWatchTest, AStepBackwardsWhileRunningIsReportedAndStampsFollowTheClock) {
    EXPECT_EQ(look(true).kind, ClockChange::Kind::kNone);
    EXPECT_FALSE(watch_.holding());
    clock_.advance(1s);
    const Reading before = read_now();
    clock_.set_wall_ms(clock_.wall_ms() - 7200'000);  // NTP corrects a clock two hours ahead
    const ClockChange step = look(true);
    EXPECT_EQ(step.kind, ClockChange::Kind::kStepped);
    EXPECT_EQ(step.offset_ms, -7200'000);
    EXPECT_EQ(watch_.steps(), 1u);
    EXPECT_FALSE(watch_.holding()) << "a step while synchronised never holds readings";
    EXPECT_EQ(watch_.restamp(before.read_ms, before.read_mono_ms), before.read_ms)
        << "no sync correction when the clock was trusted from the start";
    // Drift of less than a second is not a step.
    clock_.advance(1s);
    clock_.set_wall_ms(clock_.wall_ms() + 400);
    EXPECT_EQ(look(true).kind, ClockChange::Kind::kNone);
    // Losing the sync later does not hold readings either.
    clock_.advance(1s);
    EXPECT_EQ(look(false).kind, ClockChange::Kind::kNone);
    EXPECT_FALSE(watch_.holding());
}

TEST_F(ClockWatchTest, NeverSyncedGivesUpAfterMaxUnsyncedAndStillCorrectsLater) {
    look(false);
    const Reading early = read_now();
    for (int i = 0; i < 599; ++i) {
        clock_.advance(1s);
        EXPECT_EQ(look(false).kind, ClockChange::Kind::kNone) << i;
    }
    EXPECT_TRUE(watch_.holding());
    clock_.advance(1s);
    EXPECT_EQ(look(false).kind, ClockChange::Kind::kGaveUp);
    EXPECT_FALSE(watch_.holding());
    EXPECT_EQ(watch_.state(), ClockState::kUnsynced);
    clock_.advance(1s);
    EXPECT_EQ(look(false).kind, ClockChange::Kind::kNone) << "given up once";
    // A sync an hour later still corrects what has not been sent yet.
    clock_.advance(1h);
    clock_.set_wall_ms(clock_.wall_ms() + kRealOffsetMs);
    const ClockChange sync = look(true);
    EXPECT_EQ(sync.kind, ClockChange::Kind::kSynced);
    EXPECT_EQ(watch_.restamp(early.read_ms, early.read_mono_ms), early.read_ms + kRealOffsetMs);
}

TEST_F(ClockWatchTest, ZeroMaxUnsyncedNeverWaits) {
    ClockWatch now_or_never(0ms);
    const ClockChange first = now_or_never.observe(clock_.now(), clock_.wall_ms(), false);
    EXPECT_EQ(first.kind, ClockChange::Kind::kGaveUp);
    EXPECT_FALSE(now_or_never.holding());
    EXPECT_EQ(now_or_never.state(), ClockState::kUnsynced);
}

TEST_F(ClockWatchTest, AProbeThatCannotTellTrustsTheClock) {
    EXPECT_EQ(look(std::nullopt).kind, ClockChange::Kind::kNone);
    EXPECT_FALSE(watch_.holding());
    EXPECT_EQ(watch_.state(), ClockState::kSynced);
}

TEST_F(ClockWatchTest, ASyncThatMovedNothingChangesNoStamp) {
    look(false);
    clock_.advance(1s);
    const Reading r = read_now();
    clock_.advance(1s);
    const ClockChange sync = look(true);
    EXPECT_EQ(sync.kind, ClockChange::Kind::kSynced);
    EXPECT_EQ(sync.offset_ms, 0);
    EXPECT_EQ(watch_.restamp(r.read_ms, r.read_mono_ms), r.read_ms);
}

}  // namespace
}  // namespace kaa
