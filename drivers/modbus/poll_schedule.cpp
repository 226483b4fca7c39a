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
    if (e.due < now)
        e.due = now;
}

void PollSchedule::defer(size_t i, Clock::Monotonic until) {
    if (entries_[i].due < until)
        entries_[i].due = until;
}

std::chrono::milliseconds failing_meter_delay(std::chrono::milliseconds interval, int failures) {
    const auto cap = std::max(interval, kFailingMeterMaxDelay);
    auto delay = interval;
    for (int k = kFailuresBeforeBackoff - 1; k < failures && delay < cap; ++k)
        delay *= 2;
    return std::min(delay, cap);
}

}  // namespace kaa::modbus
