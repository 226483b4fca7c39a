// Per-key log rate limiting, bounded in keys.
#include "core/rate_limiter.hpp"

namespace kaa {
namespace {

// The key that new keys share while the limiter is full ("\x01" keeps it apart from any
// key the program makes).
const std::string kOverflowKey = "\x01overflow";

}  // namespace

void RateLimiter::forget_idle(Clock::Monotonic now) {
    for (auto it = entries_.begin(); it != entries_.end();) {
        if (it->second.suppressed == 0 && now - it->second.last >= interval_)
            it = entries_.erase(it);
        else
            ++it;
    }
}

bool RateLimiter::allow(const std::string& key, int& suppressed) {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto now = clock_.now();
    auto it = entries_.find(key);
    if (it == entries_.end() && entries_.size() >= max_keys_ && now >= next_sweep_) {
        // At most a few sweeps an interval, however many new keys arrive meanwhile.
        forget_idle(now);
        next_sweep_ = now + interval_ / 8;
    }
    if (it == entries_.end() && entries_.size() >= max_keys_)
        it = entries_.find(kOverflowKey);
    if (it == entries_.end()) {
        const std::string& stored = entries_.size() >= max_keys_ ? kOverflowKey : key;
        entries_.emplace(stored, Entry{now, 0});
        suppressed = 0;
        return true;
    }
    if (now - it->second.last >= interval_) {
        suppressed = it->second.suppressed;
        it->second = Entry{now, 0};
        return true;
    }
    ++it->second.suppressed;
    return false;
}

void RateLimiter::reset(const std::string& key) {
    std::lock_guard<std::mutex> lock(mutex_);
    entries_.erase(key);
}

size_t RateLimiter::keys() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return entries_.size();
}

}  // namespace kaa
