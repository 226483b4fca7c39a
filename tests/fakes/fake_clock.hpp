#pragma once
// FakeClock: simulated time for unit tests. It moves only when told to, or when code waits
// on it: a wait jumps straight to its deadline, so an hour of polls runs in milliseconds.

#include <atomic>
#include <chrono>
#include <cstdint>

#include "core/clock.hpp"

namespace kaa::fakes {

/// A clock that moves when advanced or waited on; safe to read from any thread.
class FakeClock final : public Clock {
  public:
    int64_t wall_ms() const override { return wall_ms_.load(); }
    Monotonic now() const override { return Monotonic(std::chrono::nanoseconds(mono_ns_.load())); }
    /// Returns at once when done(); otherwise moves time to the deadline (never back).
    bool wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                    Monotonic deadline, const std::function<bool()>& done) const override {
        (void)lock;
        (void)cv;
        if (done())
            return true;
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
    /// How many waits moved time (for tests that check a loop does not spin).
    uint64_t waits() const { return waits_.load(); }

  private:
    std::atomic<int64_t> wall_ms_{1'700'000'000'000};
    std::atomic<int64_t> mono_ns_{std::chrono::nanoseconds(std::chrono::hours(1)).count()};
    mutable std::atomic<uint64_t> waits_{0};
};

}  // namespace kaa::fakes
