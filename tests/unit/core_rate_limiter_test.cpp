// RateLimiter: one line per key and interval, and a bounded number of keys however many
// distinct keys outside input makes.
#include <gtest/gtest.h>

#include <string>

#include "core/rate_limiter.hpp"
#include "tests/fakes/fake_clock.hpp"

namespace kaa {
namespace {

using std::chrono::seconds;

TEST(RateLimiter, FirstPassesThenOncePerIntervalWithTheCountHeldBack) {
    fakes::FakeClock clock;
    RateLimiter limiter(clock, seconds(60));
    int suppressed = -1;
    EXPECT_TRUE(limiter.allow("k", suppressed));
    EXPECT_EQ(suppressed, 0);
    EXPECT_FALSE(limiter.allow("k", suppressed));
    EXPECT_FALSE(limiter.allow("k", suppressed));
    clock.advance(seconds(60));
    EXPECT_TRUE(limiter.allow("k", suppressed));
    EXPECT_EQ(suppressed, 2);
}

TEST(RateLimiter, AFloodOfDistinctKeysStaysWithinTheBoundAndIsStillLimited) {
    fakes::FakeClock clock;
    RateLimiter limiter(clock, seconds(60), 100);
    int passed = 0;
    int suppressed = 0;
    for (int i = 0; i < 100'000; ++i)
        passed += limiter.allow("token-" + std::to_string(i), suppressed) ? 1 : 0;
    EXPECT_LE(limiter.keys(), 101u);
    EXPECT_EQ(passed, 101) << "100 own keys, then one line for the rest together";
    // A minute later the idle keys are forgotten and new ones get their own line again.
    clock.advance(seconds(61));
    EXPECT_TRUE(limiter.allow("late", suppressed));
    EXPECT_TRUE(limiter.allow("late-2", suppressed));
    EXPECT_LE(limiter.keys(), 101u);
}

TEST(RateLimiter, KeysThatHoldACountAreNotForgotten) {
    fakes::FakeClock clock;
    RateLimiter limiter(clock, seconds(10), 2);
    int suppressed = 0;
    EXPECT_TRUE(limiter.allow("a", suppressed));
    EXPECT_FALSE(limiter.allow("a", suppressed));  // a holds one back
    EXPECT_TRUE(limiter.allow("b", suppressed));
    clock.advance(seconds(11));
    EXPECT_TRUE(limiter.allow("c", suppressed));  // b was idle: forgotten for c
    EXPECT_TRUE(limiter.allow("a", suppressed));
    EXPECT_EQ(suppressed, 1) << "a kept its count";
}

}  // namespace
}  // namespace kaa
