#pragma once
// ByteBudget: how many bytes of outside input wait in a queue, kept under a limit, so that a
// flood cannot grow the queue's memory without bound when its consumer is slow.

#include <atomic>
#include <cstddef>

namespace kaa {

/// Bytes taken by producers before they queue something and given back by the consumer.
class ByteBudget {
  public:
    explicit ByteBudget(size_t limit) : limit_(limit) {}

    /// Takes `bytes` when they fit under the limit with what is taken already; false (and
    /// nothing taken) otherwise. Safe from any thread.
    bool take(size_t bytes) {
        size_t used = used_.load();
        do {
            if (bytes > limit_ || used > limit_ - bytes)
                return false;
        } while (!used_.compare_exchange_weak(used, used + bytes));
        return true;
    }
    /// Gives back what an earlier take() got.
    void give_back(size_t bytes) { used_.fetch_sub(bytes); }
    /// Bytes taken now.
    size_t used() const { return used_.load(); }

  private:
    const size_t limit_;
    std::atomic<size_t> used_{0};
};

}  // namespace kaa
