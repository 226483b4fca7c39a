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
    EXPECT_THAT(errors(kaa_with("status: {http: 1}\n")),
                ElementsAre("t.yaml:4:10: unknown key 'http' in status; allowed keys: socket"));
}

}  // namespace
}  // namespace kaa::config
