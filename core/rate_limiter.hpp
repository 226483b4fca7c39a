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
/// It keeps at most `max_keys` keys: keys made of outside input (tokens, topics) cannot
/// grow it without bound. When full, keys idle for an interval with nothing held back are
/// forgotten; if none is, new keys share one overflow key (limited and counted together).
class RateLimiter {
  public:
    static constexpr size_t kDefaultMaxKeys = 1024;

    RateLimiter(const Clock& clock, std::chrono::milliseconds interval,
                size_t max_keys = kDefaultMaxKeys)
        : clock_(clock), interval_(interval), max_keys_(max_keys) {}

    /// True when a message with this key may be logged now. `suppressed` receives how many
    /// were held back since the last one that passed (to say "repeated N times").
    bool allow(const std::string& key, int& suppressed);
    /// Forgets a key, so its next occurrence is logged at once (e.g. after recovery).
    void reset(const std::string& key);
    /// Keys held now (at most max_keys + 1: the overflow key).
    size_t keys() const;

  private:
    struct Entry {
        Clock::Monotonic last;
        int suppressed = 0;
    };
    /// Forgets keys that passed over an interval ago and hold nothing back.
    void forget_idle(Clock::Monotonic now);

    const Clock& clock_;
    std::chrono::milliseconds interval_;
    size_t max_keys_;
    mutable std::mutex mutex_;
    std::map<std::string, Entry> entries_;
    Clock::Monotonic next_sweep_{};
};

}  // namespace kaa
