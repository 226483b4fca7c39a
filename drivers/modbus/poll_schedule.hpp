#pragma once
// PollSchedule: which meter on a bus is polled next, and when. Pure logic with
// injected time, so fairness and catch-up rules are unit-tested.

#include <chrono>
#include <cstdint>
#include <vector>

#include "core/backoff.hpp"
#include "core/clock.hpp"

namespace kaa::modbus {

/// Earliest-due-first schedule of the meters of one bus.
class PollSchedule {
  public:
    using Millis = std::chrono::milliseconds;
    /// All meters are due at `start`; meter i polls every intervals[i].
    PollSchedule(std::vector<Millis> intervals, Clock::Monotonic start);

    /// The meter due first; on a tie, the one that waited longest since its last poll.
    size_t next() const;
    /// When meter i is due.
    Clock::Monotonic due(size_t i) const { return entries_[i].due; }
    /// Records that meter i was polled (finished at `now`): it is due one interval after
    /// its previous due time; if that is already past (the bus was busy), it is due now,
    /// so missed cycles are skipped rather than polled in a burst.
    void completed(size_t i, Clock::Monotonic now);
    /// Pushes meter i's next poll to no earlier than `until` (backoff of a failing meter).
    void defer(size_t i, Clock::Monotonic until);
    size_t size() const { return entries_.size(); }

  private:
    struct Entry {
        Millis interval;
        Clock::Monotonic due;
        Clock::Monotonic last_run;
    };
    std::vector<Entry> entries_;
};

/// A meter whose polls failed this many times in a row is polled less often...
constexpr int kFailuresBeforeBackoff = 3;
/// ...its delay a capped full-jitter backoff up to this (or its poll interval if longer).
constexpr std::chrono::milliseconds kFailingMeterMaxDelay{60000};

/// How long after its last poll a failing meter is polled again: its interval until
/// kFailuresBeforeBackoff failures in a row, then a Backoff with floor = the interval and
/// ceiling doubling per failure (twice the interval at the third) up to the cap.
class FailingMeterBackoff {
  public:
    FailingMeterBackoff(std::chrono::milliseconds interval, uint64_t seed);
    /// The delay after a poll that left the meter with `failures` failures in a row
    /// (0 after a success, which starts the backoff again).
    std::chrono::milliseconds delay(int failures);
    /// The largest delay the next call with `failures` may return (for tests and logs).
    std::chrono::milliseconds ceiling(int failures) const;

  private:
    std::chrono::milliseconds interval_;
    Backoff backoff_;
};

}  // namespace kaa::modbus
