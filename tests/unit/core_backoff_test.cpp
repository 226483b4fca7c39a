// Backoff and rate limiter tests.
#include <gtest/gtest.h>

#include "core/backoff.hpp"
#include "core/rate_limiter.hpp"
#include "tests/fakes/fake_clock.hpp"

namespace kaa {
namespace {

using std::chrono::milliseconds;

TEST(BackoffTest, DelaysStayWithinMinAndADoublingCeilingCappedAtMax) {
    Backoff b(milliseconds(1000), milliseconds(60000), 42);
    int64_t expected_ceiling = 1000;
    for (int i = 0; i < 20; ++i) {
        EXPECT_EQ(b.ceiling().count(), expected_ceiling);
        const auto d = b.next_delay();
        EXPECT_GE(d.count(), 1000);
        EXPECT_LE(d.count(), expected_ceiling);
        expected_ceiling = std::min<int64_t>(expected_ceiling * 2, 60000);
    }
}

TEST(BackoffTest, JitterSpreadsDelays) {
    Backoff b(milliseconds(1000), milliseconds(60000), 7);
    for (int i = 0; i < 10; ++i)
        b.next_delay();
    std::set<int64_t> seen;
    for (int i = 0; i < 50; ++i)
        seen.insert(b.next_delay().count());
    EXPECT_GT(seen.size(), 40u);
}

TEST(BackoffTest, ResetStartsAgainFromTheMinimum) {
    Backoff b(milliseconds(500), milliseconds(8000), 1);
    for (int i = 0; i < 10; ++i)
        b.next_delay();
    EXPECT_EQ(b.ceiling().count(), 8000);
    b.reset();
    EXPECT_EQ(b.failures(), 0);
    EXPECT_EQ(b.next_delay().count(), 500);
}

TEST(RateLimiterTest, FirstPassesRepeatsAreHeldThenCounted) {
    fakes::FakeClock clock;
    RateLimiter limiter(clock, std::chrono::minutes(1));
    int suppressed = -1;
    EXPECT_TRUE(limiter.allow("k", suppressed));
    EXPECT_EQ(suppressed, 0);
    EXPECT_FALSE(limiter.allow("k", suppressed));
    EXPECT_FALSE(limiter.allow("k", suppressed));
    EXPECT_TRUE(limiter.allow("other", suppressed));
    clock.advance(std::chrono::minutes(1));
    EXPECT_TRUE(limiter.allow("k", suppressed));
    EXPECT_EQ(suppressed, 2);
    limiter.reset("k");
    EXPECT_TRUE(limiter.allow("k", suppressed));
}

}  // namespace
}  // namespace kaa
