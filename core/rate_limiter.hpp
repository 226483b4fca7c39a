#pragma once
// Decides whether a repeated log message may be written now, so a dead meter or a
// down broker leaves one line a minute in the journal instead of thousands.

#include <chrono>
#include <map>
#include <mutex>
#include <string>

#include "core/clock.hpp"

namespace kaa {

/// Per-key limiter: the first occurrence passes, later ones at most once per interval.
class RateLimiter {
  public:
    RateLimiter(const Clock& clock, std::chrono::milliseconds interval)
        : clock_(clock), interval_(interval) {}

    /// True when a message with this key may be logged now. `suppressed` receives how many
    /// were held back since the last one that passed (to say "repeated N times").
    bool allow(const std::string& key, int& suppressed);
    /// Forgets a key, so its next occurrence is logged at once (e.g. after recovery).
    void reset(const std::string& key);

  private:
    struct Entry {
        Clock::Monotonic last;
        int suppressed = 0;
    };
    const Clock& clock_;
    std::chrono::milliseconds interval_;
    std::mutex mutex_;
    std::map<std::string, Entry> entries_;
};

}  // namespace kaa
