#pragma once
// Clock: the one seam through which the gateway reads time, so tests can fake it.

#include <chrono>
#include <cstdint>

namespace kaa {

/// Source of wall-clock time (for sample timestamps) and monotonic time (for scheduling).
class Clock {
  public:
    using Monotonic = std::chrono::steady_clock::time_point;
    virtual ~Clock() = default;
    /// Milliseconds since the Unix epoch: the timestamp a reading carries.
    virtual int64_t wall_ms() const = 0;
    /// A time point that never jumps: deadlines, intervals, timeouts.
    virtual Monotonic now() const = 0;
};

/// The real clock of the machine.
class SystemClock final : public Clock {
  public:
    int64_t wall_ms() const override {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
    }
    Monotonic now() const override { return std::chrono::steady_clock::now(); }
};

/// A clock that moves only when told to; for unit tests.
class FakeClock final : public Clock {
  public:
    int64_t wall_ms() const override { return wall_ms_; }
    Monotonic now() const override { return mono_; }
    /// Moves both clocks forward by d.
    void advance(std::chrono::milliseconds d) {
        wall_ms_ += d.count();
        mono_ += d;
    }
    void set_wall_ms(int64_t ms) { wall_ms_ = ms; }

  private:
    int64_t wall_ms_ = 1'700'000'000'000;
    Monotonic mono_{std::chrono::hours(1)};
};

}  // namespace kaa
