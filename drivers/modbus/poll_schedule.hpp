#pragma once
// PollSchedule: which meter on a bus is polled next, and when. Pure logic with
// injected time, so fairness and catch-up rules are unit-tested.

#include <chrono>
#include <vector>

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
/// ...its interval doubling per further failure up to this (or its poll interval if longer).
constexpr std::chrono::milliseconds kFailingMeterMaxDelay{60000};

/// How long after its last poll a meter with `failures` failed polls in a row is polled
/// again: its interval until kFailuresBeforeBackoff, then doubling, capped.
std::chrono::milliseconds failing_meter_delay(std::chrono::milliseconds interval, int failures);

}  // namespace kaa::modbus
