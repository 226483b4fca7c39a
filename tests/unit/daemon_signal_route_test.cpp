// The signal thread: signals reach the callback, a stop signal ends the thread, and the
// route ends its thread when it goes without any signal (a start that failed), so that
// nothing it calls into is used after the program has torn it down.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "daemon/signal_route.hpp"

namespace kaa {
namespace {

/// The signals handed over, in order, waited for in real time.
class Received {
  public:
    /// The route's callback.
    void add(int number) {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            numbers_.push_back(number);
        }
        cv_.notify_all();
    }
    /// Waits (at most 10 s) until `count` signals arrived; returns them.
    std::vector<int> wait_for(size_t count) {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait_for(lock, std::chrono::seconds(10), [&] { return numbers_.size() >= count; });
        return numbers_;
    }

  private:
    std::mutex mutex_;
    std::condition_variable cv_;
    std::vector<int> numbers_;
};

TEST(SignalRoute, HandsOverReloadsAndEndsAtAStopSignal) {
    Received received;
    {
        const SignalRoute route([&received](int number) { received.add(number); });
        ASSERT_EQ(kill(getpid(), SIGHUP), 0);
        EXPECT_EQ(received.wait_for(1), std::vector<int>({SIGHUP}));
        ASSERT_EQ(kill(getpid(), SIGTERM), 0);
        EXPECT_EQ(received.wait_for(2), std::vector<int>({SIGHUP, SIGTERM}));
    }
    // The thread had ended at the SIGTERM: the route's own wake-up found nobody.
    EXPECT_EQ(received.wait_for(2), std::vector<int>({SIGHUP, SIGTERM}));
}

TEST(SignalRoute, EndsItsThreadWhenItGoesBeforeAnySignal) {
    Received received;
    {
        const SignalRoute route([&received](int number) { received.add(number); });
    }
    // Joined: the wake-up was delivered as a stop before the route was gone.
    EXPECT_EQ(received.wait_for(1), std::vector<int>({SIGTERM}));
}

}  // namespace
}  // namespace kaa
