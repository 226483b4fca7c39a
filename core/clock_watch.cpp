// The wall clock's trust: waiting for a sync, the offset it made, steps while running.
#include "core/clock_watch.hpp"

#include <cstdlib>

namespace kaa {

ClockChange ClockWatch::observe(Clock::Monotonic mono, int64_t wall_ms,
                                std::optional<bool> synced) {
    const int64_t difference = wall_ms - monotonic_ms(mono);
    const int64_t jump = difference - last_difference_;
    last_difference_ = difference;
    const bool known_unsynced = synced.has_value() && !*synced;
    const bool known_synced = synced.value_or(false);

    if (first_) {
        first_ = false;
        if (!known_unsynced)
            return {};  // synchronised, or nobody can tell: the clock is taken as it is
        unsynced_since_ = mono;
        unsynced_difference_ = difference;
        if (max_unsynced_.count() <= 0) {
            state_ = ClockState::kUnsynced;
            return {ClockChange::Kind::kGaveUp, 0};
        }
        state_ = ClockState::kWaiting;
        return {};
    }

    if (state_ != ClockState::kSynced) {
        if (known_synced) {
            // The step NTP made is the error of every read before it.
            offset_ms_ = difference - *unsynced_difference_;
            state_ = ClockState::kSynced;
            return {ClockChange::Kind::kSynced, offset_ms_};
        }
        // Drift while waiting (a slewing clock) moves the reads' difference with it; a jump
        // (someone setting the clock by hand) does not: the reads so far keep theirs.
        if (std::llabs(jump) <= kStepMs)
            unsynced_difference_ = difference;
        if (state_ == ClockState::kWaiting && mono - *unsynced_since_ >= max_unsynced_) {
            state_ = ClockState::kUnsynced;
            return {ClockChange::Kind::kGaveUp, 0};
        }
        return {};
    }

    // Synchronised: a clock that loses its sync later is still as good as it was; a step
    // is reported (samples keep their read order in the buffer whatever their stamps say).
    if (std::llabs(jump) > kStepMs) {
        ++steps_;
        return {ClockChange::Kind::kStepped, jump};
    }
    return {};
}

int64_t ClockWatch::restamp(int64_t read_ms, int64_t read_mono_ms) const {
    if (!unsynced_difference_ || offset_ms_ == 0)
        return read_ms;
    const int64_t difference = read_ms - read_mono_ms;
    const int64_t before = std::llabs(difference - *unsynced_difference_);
    const int64_t after = std::llabs(difference - (*unsynced_difference_ + offset_ms_));
    return before < after ? read_ms + offset_ms_ : read_ms;
}

}  // namespace kaa
