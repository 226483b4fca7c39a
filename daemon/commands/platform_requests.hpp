#pragma once
// What the command center and the remote configuration share: request ids for what they
// publish, and warnings that are rate-limited per kind.

#include <cstdint>
#include <string>

#include "core/clock.hpp"
#include "core/rate_limiter.hpp"

namespace kaa::commands {

/// Request ids 1 .. 2^31-1 (what KPC carries as an Avro int), in turn.
class RequestIds {
  public:
    uint32_t next() {
        const uint32_t rid = next_;
        next_ = next_ >= 0x7fffffffU ? 1 : next_ + 1;
        return rid;
    }

  private:
    uint32_t next_ = 1;
};

/// Warnings of one component, at most one a minute per key, with a count of the rest.
class LimitedWarnings {
  public:
    LimitedWarnings(const Clock& clock, const char* component)
        : limiter_(clock, std::chrono::minutes(1)), component_(component) {}
    /// Logs `message` unless one of `key` was logged within the minute.
    void warn(const std::string& key, const std::string& message);

  private:
    RateLimiter limiter_;
    const char* component_;
};

}  // namespace kaa::commands
