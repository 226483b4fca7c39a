// The status: section: where the daemon's status socket is, or that there is none.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "config/config_loader.hpp"
#include "tests/unit/config_test_helpers.hpp"

namespace kaa::config {
namespace {

using ::testing::ElementsAre;
using namespace kaa::config::testing;  // NOLINT: test helpers

TEST(ConfigStatus, TheSocketDefaultsToTheRuntimeDirectoryAndCanBeMovedOrTurnedOff) {
    auto plain = load(kaa_with(""));
    ASSERT_TRUE(plain.config);
    EXPECT_EQ(plain.config->status.socket, "/run/kaa-gateway/status.sock");
    auto moved = load(kaa_with("status: {socket: /tmp/gw/status.sock}\n"));
    ASSERT_TRUE(moved.config);
    EXPECT_EQ(moved.config->status.socket, "/tmp/gw/status.sock");
    auto off = load(kaa_with("status: {socket: off}\n"));
    ASSERT_TRUE(off.config);
    EXPECT_EQ(off.config->status.socket, "");
}

TEST(ConfigStatus, ARelativeOrTooLongSocketPathIsAnError) {
    EXPECT_THAT(errors(kaa_with("status: {socket: status.sock}\n")),
                ElementsAre("t.yaml:4:18: status: socket must be an absolute path (or off), got "
                            "'status.sock'"));
    EXPECT_THAT(errors(kaa_with("status: {socket: /" + std::string(120, 'a') + "}\n")),
                ElementsAre("t.yaml:4:18: status: socket is 121 bytes long; a unix socket's path "
                            "has at most 107"));
    EXPECT_THAT(errors(kaa_with("status: {bogus: 1}\n")),
                ElementsAre("t.yaml:4:10: unknown key 'bogus' in status; allowed keys: socket, "
                            "http"));
}

TEST(ConfigStatus, TheHttpPageIsOffUnlessAnAddressAndPortAreWritten) {
    auto plain = load(kaa_with(""));
    ASSERT_TRUE(plain.config);
    EXPECT_EQ(plain.config->status.http_host, "");
    auto v4 = load(kaa_with("status: {http: 127.0.0.1:9464}\n"));
    ASSERT_TRUE(v4.config);
    EXPECT_EQ(v4.config->status.http_host, "127.0.0.1");
    EXPECT_EQ(v4.config->status.http_port, 9464);
    auto v6 = load(kaa_with("status: {http: '[::1]:8080'}\n"));
    ASSERT_TRUE(v6.config);
    EXPECT_EQ(v6.config->status.http_host, "::1");
    EXPECT_EQ(v6.config->status.http_port, 8080);
    auto off = load(kaa_with("status: {http: off}\n"));
    ASSERT_TRUE(off.config);
    EXPECT_EQ(off.config->status.http_host, "");
    for (const char* bad : {"localhost:9464", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:70000",
                            "[::1:80", "1.2.3:80", "127.0.0.1:9x"}) {
        const auto e = errors(kaa_with(std::string("status: {http: '") + bad + "'}\n"));
        ASSERT_EQ(e.size(), 1u) << bad;
        EXPECT_THAT(e[0], ::testing::HasSubstr("must be ADDRESS:PORT with a numeric address"))
            << bad;
    }
}

TEST(ConfigStatus, TheGatewayHealthIntervalIsBetweenASecondAndADay) {
    auto plain = load(kaa_with("gateway: {token: gw-own}\n"));
    ASSERT_TRUE(plain.config);
    EXPECT_EQ(plain.config->gateway.token, "gw-own");
    EXPECT_EQ(plain.config->gateway.health_interval, std::chrono::seconds(60));
    auto fast = load(kaa_with("gateway: {token: gw-own, health_interval: 1s}\n"));
    ASSERT_TRUE(fast.config);
    EXPECT_EQ(fast.config->gateway.health_interval, std::chrono::seconds(1));
    EXPECT_THAT(errors(kaa_with("gateway: {token: gw-own, health_interval: 100ms}\n")),
                ElementsAre("t.yaml:4:43: gateway: health_interval must be between 1s and 24h, "
                            "got 100ms"));
    EXPECT_THAT(errors(kaa_with("gateway: {token: gw-own, health_interval: 25h}\n")),
                ElementsAre("t.yaml:4:43: gateway: health_interval must be between 1s and 24h, "
                            "got 25h"));
}

}  // namespace
}  // namespace kaa::config
