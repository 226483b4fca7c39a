#pragma once
// A thread-safe queue that many producers push into and one consumer drains,
// waking the consumer at once or at a deadline, whichever comes first. It waits through
// the Clock, so a test with a simulated clock drives the consumer without sleeping.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <limits>
#include <mutex>
#include <optional>

#include "core/clock.hpp"

namespace kaa {

/// Multi-producer, single-consumer queue of events of type T.
template <typename T>
class EventQueue {
  public:
    /// The consumer waits through `clock` (which must outlive the queue).
    explicit EventQueue(const Clock& clock) : clock_(clock) {}

    /// Adds an event and wakes the consumer.
    void push(T event) { push_if_below(std::move(event), std::numeric_limits<size_t>::max()); }

    /// Adds an event ahead of every queued one (urgent: a signal) and wakes the consumer.
    void push_front(T event) {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            events_.push_front(std::move(event));
        }
        cv_.notify_one();
    }

    /// Adds an event unless `limit` events already wait; returns whether it was added.
    bool push_if_below(T event, size_t limit) {
        bool wake = false;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (events_.size() >= limit)
                return false;
            events_.push_back(std::move(event));
            wake = !gathering_;
        }
        if (wake) {
            cv_.notify_one();
        }
        return true;
    }

    /// Waits until at least one event is queued or the deadline passes (no deadline:
    /// wait for an event), then moves everything queued into `out`. With until_deadline,
    /// waits for the deadline whatever arrives (to let a burst of events gather).
    void wait_drain(std::deque<T>& out, const std::optional<Clock::Monotonic>& deadline,
                    bool until_deadline = false) {
        std::unique_lock<std::mutex> lock(mutex_);
        const auto queued = [this] { return !events_.empty(); };
        if (deadline && until_deadline) {
            gathering_ = true;  // producers need not wake us: we sleep to the deadline
            clock_.wait_until(lock, cv_, *deadline, [] { return false; });
            gathering_ = false;
        } else if (deadline) {
            clock_.wait_until(lock, cv_, *deadline, queued);
        } else {
            // No deadline: wait for an event, in long steps that the clock can measure.
            while (!clock_.wait_until(lock, cv_, clock_.now() + std::chrono::hours(1), queued)) {
            }
        }
        while (!events_.empty()) {
            out.push_back(std::move(events_.front()));
            events_.pop_front();
        }
    }

    /// Number of events waiting (for status and tests).
    size_t size() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return events_.size();
    }

  private:
    const Clock& clock_;
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<T> events_;
    bool gathering_ = false;
};

}  // namespace kaa
