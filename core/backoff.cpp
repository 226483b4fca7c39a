// Exponential backoff with full jitter.
#include "core/backoff.hpp"

#include <algorithm>

namespace kaa {

Backoff::Backoff(Millis min_delay, Millis max_delay, uint64_t seed)
    : min_(std::max(min_delay, Millis(1))), max_(std::max(max_delay, min_)), rng_(seed) {}

Backoff::Millis Backoff::ceiling() const {
    // Double min_ per failure without overflowing: stop doubling once past max_.
    int64_t c = min_.count();
    for (int i = 0; i < failures_ && c < max_.count(); ++i)
        c *= 2;
    return Millis(std::min<int64_t>(c, max_.count()));
}

Backoff::Millis Backoff::next_delay() {
    const int64_t hi = ceiling().count();
    std::uniform_int_distribution<int64_t> pick(min_.count(), hi);
    const Millis delay(pick(rng_));
    if (failures_ < 64)
        ++failures_;
    return delay;
}

}  // namespace kaa
