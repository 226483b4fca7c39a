#pragma once
// Clock: the one seam through which the gateway reads time and waits, so that tests can
// run schedules, backoffs and timeouts in simulated time (tests/fakes/fake_clock.hpp).

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>

namespace kaa {

/// Source of wall-clock time (for sample timestamps), monotonic time (for scheduling),
/// and of waiting for either a condition or a deadline.
class Clock {
  public:
    using Monotonic = std::chrono::steady_clock::time_point;
    virtual ~Clock() = default;
    /// Milliseconds since the Unix epoch: the timestamp a reading carries.
    virtual int64_t wall_ms() const = 0;
    /// A time point that never jumps: deadlines, intervals, timeouts.
    virtual Monotonic now() const = 0;
    /// Waits on `cv` (whose mutex `lock` holds) until `done()` is true or `deadline` has
    /// come; returns done(). The real clock sleeps; a simulated one moves time instead.
    virtual bool wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                            Monotonic deadline, const std::function<bool()>& done) const = 0;
};

/// Milliseconds of a monotonic time point (what samples carry as read_mono_ms).
inline int64_t monotonic_ms(Clock::Monotonic t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

/// The real clock of the machine.
class SystemClock final : public Clock {
  public:
    int64_t wall_ms() const override {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
    }
    Monotonic now() const override { return std::chrono::steady_clock::now(); }
    bool wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                    Monotonic deadline, const std::function<bool()>& done) const override {
        // A deadline already gone (a poll round catching up, a zero gap) needs no sleep:
        // answering at once saves a futex call on every poll and request.
        if (done())
            return true;
        if (std::chrono::steady_clock::now() >= deadline)
            return false;
        return cv.wait_until(lock, deadline, done);
    }
};

}  // namespace kaa
