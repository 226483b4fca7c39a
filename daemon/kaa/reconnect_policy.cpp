// The MQTT reconnect decision.
#include "daemon/kaa/reconnect_policy.hpp"

namespace kaa::uplink {

ReconnectPolicy::ReconnectPolicy(Millis min_delay, Millis max_delay, uint64_t seed)
    : backoff_(min_delay, max_delay, seed) {}

Clock::Monotonic ReconnectPolicy::failed(Clock::Monotonic now) {
    last_delay_ = backoff_.next_delay();
    return now + last_delay_;
}

}  // namespace kaa::uplink
