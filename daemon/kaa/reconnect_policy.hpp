#pragma once
// ReconnectPolicy: when the MQTT client tries the broker again after a failed attempt or
// a lost connection. Pure logic on injected time, so its bounds are unit-tested.

#include <chrono>
#include <cstdint>
#include <random>

#include "core/backoff.hpp"
#include "core/clock.hpp"

namespace kaa::uplink {

/// The reconnect decision: a capped full-jitter Backoff between kaa.reconnect.min_delay
/// and max_delay, started again from the minimum once the broker accepts a connection.
class ReconnectPolicy {
  public:
    using Millis = std::chrono::milliseconds;
    ReconnectPolicy(Millis min_delay, Millis max_delay, uint64_t seed = std::random_device{}());

    /// An attempt failed (or the connection dropped) at `now`: when to try again.
    Clock::Monotonic failed(Clock::Monotonic now);
    /// The broker accepted the connection: the next failure waits the minimum again.
    void connected() { backoff_.reset(); }
    /// The wait chosen by the last failed() (for logs and tests).
    Millis last_delay() const { return last_delay_; }
    /// Failures in a row since the last accepted connection.
    int failures() const { return backoff_.failures(); }

  private:
    Backoff backoff_;
    Millis last_delay_{0};
};

}  // namespace kaa::uplink
