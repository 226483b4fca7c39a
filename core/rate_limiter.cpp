// Per-key log rate limiting.
#include "core/rate_limiter.hpp"

namespace kaa {

bool RateLimiter::allow(const std::string& key, int& suppressed) {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto now = clock_.now();
    auto it = entries_.find(key);
    if (it == entries_.end()) {
        entries_.emplace(key, Entry{now, 0});
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

}  // namespace kaa
