#pragma once
// FakeClock: simulated time for unit tests. It moves only when told to, or when code waits
// on it: a wait jumps straight to its deadline, so an hour of polls runs in milliseconds.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <limits>
#include <mutex>

#include "core/clock.hpp"

namespace kaa::fakes {

/// A clock that moves when advanced or waited on; safe to read from any thread.
class FakeClock final : public Clock {
  public:
    int64_t wall_ms() const override { return wall_ms_.load(); }
    Monotonic now() const override { return Monotonic(std::chrono::nanoseconds(mono_ns_.load())); }
    /// Returns at once when done(); otherwise moves time to the deadline (never back).
    /// A wait that reaches the horizon (set_horizon) parks there until done().
    bool wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                    Monotonic deadline, const std::function<bool()>& done) const override {
        if (done())
            return true;
        if (const auto horizon = Monotonic(std::chrono::nanoseconds(horizon_ns_.load()));
            deadline >= horizon) {
            const_cast<FakeClock*>(this)->advance_to(horizon);
            {
                std::lock_guard<std::mutex> guard(park_mutex_);
                parked_ = true;
            }
            park_cv_.notify_all();
            // Real-time steps: the code under test may set its stop flag without the lock.
            while (!done())
                cv.wait_for(lock, std::chrono::milliseconds(5));
            return true;
        }
        const_cast<FakeClock*>(this)->advance_to(deadline);
        ++waits_;
        return done();
    }
    /// Moves both clocks forward by d.
    void advance(std::chrono::nanoseconds d) {
        wall_ms_ += std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
        mono_ns_ += d.count();
    }
    /// Moves both clocks forward to `when` when it is later than now.
    void advance_to(Monotonic when) {
        const auto delta = when - now();
        if (delta.count() > 0)
            advance(delta);
    }
    void set_wall_ms(int64_t ms) { wall_ms_ = ms; }
    /// Simulated time stops at `when`: the first wait to reach it parks there (see
    /// wait_parked), so a test runs a thread's schedule up to an exact end.
    void set_horizon(Monotonic when) {
        horizon_ns_ =
            std::chrono::duration_cast<std::chrono::nanoseconds>(when.time_since_epoch()).count();
    }
    /// Waits (in real time, at most `limit`) until a wait has parked at the horizon.
    bool wait_parked(std::chrono::milliseconds limit) const {
        std::unique_lock<std::mutex> lock(park_mutex_);
        return park_cv_.wait_for(lock, limit, [this] { return parked_; });
    }
    /// How many waits moved time (for tests that check a loop does not spin).
    uint64_t waits() const { return waits_.load(); }

  private:
    std::atomic<int64_t> wall_ms_{1'700'000'000'000};
    std::atomic<int64_t> mono_ns_{std::chrono::nanoseconds(std::chrono::hours(1)).count()};
    mutable std::atomic<uint64_t> waits_{0};
    std::atomic<int64_t> horizon_ns_{std::numeric_limits<int64_t>::max()};  // none yet
    mutable std::mutex park_mutex_;
    mutable std::condition_variable park_cv_;
    mutable bool parked_ = false;
};

}  // namespace kaa::fakes
