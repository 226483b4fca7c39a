// The MQTT reconnect decision in simulated time: successive waits within the backoff's
// bounds, and a fresh start after the broker accepts a connection.
#include <gtest/gtest.h>

#include <set>

#include "daemon/kaa/reconnect_policy.hpp"
#include "tests/fakes/fake_clock.hpp"

namespace kaa::uplink {
namespace {

using std::chrono::milliseconds;

/// The bounds of the n-th wait (from 0): [min, min(max, min * 2^n)].
int64_t ceiling_of(int n, int64_t min_ms, int64_t max_ms) {
    return std::min<int64_t>(max_ms, min_ms << std::min(n, 40));
}

TEST(ReconnectPolicyTest, SuccessiveWaitsStayWithinTheDoublingCeilingCappedAtMax) {
    for (uint64_t seed = 0; seed < 10; ++seed) {
        fakes::FakeClock clock;
        ReconnectPolicy policy(milliseconds(1000), milliseconds(60000), seed);
        for (int n = 0; n < 30; ++n) {
            const auto now = clock.now();
            const auto retry_at = policy.failed(now);
            const auto wait = std::chrono::duration_cast<milliseconds>(retry_at - now).count();
            EXPECT_EQ(wait, policy.last_delay().count());
            EXPECT_GE(wait, 1000) << "attempt " << n << " seed " << seed;
            EXPECT_LE(wait, ceiling_of(n, 1000, 60000)) << "attempt " << n << " seed " << seed;
            clock.advance_to(retry_at);  // the client waits, then tries again (and fails)
        }
        EXPECT_EQ(policy.failures(), 30);
    }
}

TEST(ReconnectPolicyTest, WaitsAreJitteredNotInStep) {
    ReconnectPolicy a(milliseconds(1000), milliseconds(60000), 1);
    ReconnectPolicy b(milliseconds(1000), milliseconds(60000), 2);
    const Clock::Monotonic t0{};
    std::set<int64_t> seen;
    int same = 0;
    for (int n = 0; n < 30; ++n) {
        const auto wa = a.failed(t0) - t0;
        const auto wb = b.failed(t0) - t0;
        same += wa == wb ? 1 : 0;
        seen.insert(std::chrono::duration_cast<milliseconds>(wa).count());
    }
    EXPECT_LT(same, 3);  // two gateways that lost the same broker do not retry together
    EXPECT_GT(seen.size(), 20u);
}

TEST(ReconnectPolicyTest, AnAcceptedConnectionStartsAgainFromTheMinimum) {
    ReconnectPolicy policy(milliseconds(500), milliseconds(8000), 5);
    const Clock::Monotonic t0{};
    for (int n = 0; n < 10; ++n)
        policy.failed(t0);
    policy.connected();
    EXPECT_EQ(policy.failures(), 0);
    EXPECT_EQ(policy.failed(t0), t0 + milliseconds(500));
    EXPECT_LE(policy.failed(t0), t0 + milliseconds(1000));
}

TEST(ReconnectPolicyTest, AnHourOfOutageInSimulatedTimeTriesAboutOnceAMinuteAtTheCap) {
    fakes::FakeClock clock;
    ReconnectPolicy policy(milliseconds(1000), milliseconds(60000), 9);
    const auto end = clock.now() + std::chrono::hours(1);
    int attempts = 0;
    while (clock.now() < end) {
        ++attempts;
        clock.advance_to(policy.failed(clock.now()));
    }
    // Never more often than the minimum, never rarer than the maximum.
    EXPECT_GE(attempts, 60);
    EXPECT_LE(attempts, 3600);
    // Full jitter at a 60 s ceiling averages about 30 s: roughly 120 tries, not 3600.
    EXPECT_LT(attempts, 240);
}

}  // namespace
}  // namespace kaa::uplink
