#pragma once
// A thread-safe queue that many producers push into and one consumer drains,
// waking the consumer at once or at a deadline, whichever comes first.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>

namespace kaa {

/// Multi-producer, single-consumer queue of events of type T.
template <typename T>
class EventQueue {
  public:
    /// Adds an event and wakes the consumer.
    void push(T event) {
        bool wake = false;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            events_.push_back(std::move(event));
            wake = !gathering_;
        }
        if (wake) {
            cv_.notify_one();
        }
    }

    /// Waits until at least one event is queued or the deadline passes (no deadline:
    /// wait for an event), then moves everything queued into `out`. With until_deadline,
    /// waits for the deadline whatever arrives (to let a burst of events gather).
    template <typename Deadline>
    void wait_drain(std::deque<T>& out, const std::optional<Deadline>& deadline,
                    bool until_deadline = false) {
        std::unique_lock<std::mutex> lock(mutex_);
        if (deadline && until_deadline) {
            gathering_ = true;  // producers need not wake us: we sleep to the deadline
            cv_.wait_until(lock, *deadline, [] { return false; });
            gathering_ = false;
        } else if (deadline) {
            cv_.wait_until(lock, *deadline, [this] { return !events_.empty(); });
        } else {
            cv_.wait(lock, [this] { return !events_.empty(); });
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
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<T> events_;
    bool gathering_ = false;
};

}  // namespace kaa
