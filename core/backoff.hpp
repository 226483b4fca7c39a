#pragma once
// Exponential backoff with full jitter, for reconnecting to the broker and reopening buses.

#include <chrono>
#include <cstdint>
#include <random>

namespace kaa {

/// Computes the wait before the next attempt: a uniformly random delay between
/// min_delay and min(max_delay, min_delay * 2^failures) ("full jitter" above the floor).
class Backoff {
  public:
    using Millis = std::chrono::milliseconds;
    Backoff(Millis min_delay, Millis max_delay, uint64_t seed = std::random_device{}());

    /// The delay to wait after one more failure; grows the ceiling for the next one.
    Millis next_delay();
    /// Forgets the failures after a success.
    void reset() { failures_ = 0; }
    /// How many failures in a row so far.
    int failures() const { return failures_; }
    /// The current ceiling of the random delay (for tests and logs).
    Millis ceiling() const;

  private:
    Millis min_;
    Millis max_;
    int failures_ = 0;
    std::mt19937_64 rng_;
};

}  // namespace kaa
