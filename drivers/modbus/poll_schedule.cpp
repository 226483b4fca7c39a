// Earliest-due-first poll schedule.
#include "drivers/modbus/poll_schedule.hpp"

#include <algorithm>

namespace kaa::modbus {

PollSchedule::PollSchedule(std::vector<Millis> intervals, Clock::Monotonic start) {
    entries_.reserve(intervals.size());
    for (const auto& interval : intervals) {
        entries_.push_back(Entry{std::max(interval, Millis(1)), start, start - interval});
    }
}

size_t PollSchedule::next() const {
    size_t best = 0;
    for (size_t i = 1; i < entries_.size(); ++i) {
        const Entry& a = entries_[i];
        const Entry& b = entries_[best];
        if (a.due < b.due || (a.due == b.due && a.last_run < b.last_run))
            best = i;
    }
    return best;
}

void PollSchedule::completed(size_t i, Clock::Monotonic now) {
    Entry& e = entries_[i];
    e.last_run = now;
    e.due += e.interval;
    if (e.due <= now && e.interval.count() > 0) {
        // The poll ran an interval or more late (its bus was down, or busy): the slots
        // missed meanwhile are skipped, keeping the phase. Due at `now` instead would
        // poll the meter again at once: two readings in the same millisecond.
        const auto missed = (now - e.due) / e.interval + 1;
        e.due += missed * e.interval;
    } else if (e.due < now) {
        e.due = now;
    }
}

void PollSchedule::defer(size_t i, Clock::Monotonic until) {
    if (entries_[i].due < until)
        entries_[i].due = until;
}

FailingMeterBackoff::FailingMeterBackoff(std::chrono::milliseconds interval, uint64_t seed)
    : interval_(std::max(interval, std::chrono::milliseconds(1))),
      backoff_(interval_, std::max(interval_, kFailingMeterMaxDelay), seed) {}

// The backoff counts from the second failure on: its first delay is exactly the interval
// (a Backoff's first ceiling is its floor), so the third failure may wait up to twice it.
std::chrono::milliseconds FailingMeterBackoff::delay(int failures) {
    if (failures < kFailuresBeforeBackoff - 1) {
        backoff_.reset();
        return interval_;
    }
    return backoff_.next_delay();
}

std::chrono::milliseconds FailingMeterBackoff::ceiling(int failures) const {
    return failures < kFailuresBeforeBackoff - 1 ? interval_ : backoff_.ceiling();
}

}  // namespace kaa::modbus
