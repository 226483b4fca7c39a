// Tests of the /error code table: only payload refusals delete data.
#include <gtest/gtest.h>

#include "daemon/kaa/error_policy.hpp"

namespace kaa::uplink {
namespace {

TEST(ErrorPolicy, OnlyCodesThatRefuseThePayloadDropIt) {
    for (int code : {400, 413, 415, 422})
        EXPECT_EQ(action_for_status(code), ErrorAction::kDrop) << code;
}

TEST(ErrorPolicy, AuthMissingEndpointTimeoutAndRateLimitAreHeld) {
    for (int code : {401, 403, 404, 408, 409, 429})
        EXPECT_EQ(action_for_status(code), ErrorAction::kHold) << code;
}

TEST(ErrorPolicy, EveryServerErrorIsHeld) {
    for (int code = 500; code < 600; ++code)
        EXPECT_EQ(action_for_status(code), ErrorAction::kHold) << code;
}

TEST(ErrorPolicy, NoCodeOrANonsenseCodeIsHeld) {
    for (int code : {-1, 0, 200, 302, 999, 100000})
        EXPECT_EQ(action_for_status(code), ErrorAction::kHold) << code;
    EXPECT_STREQ(to_string(ErrorAction::kDrop), "drop");
    EXPECT_STREQ(to_string(ErrorAction::kHold), "hold");
}

}  // namespace
}  // namespace kaa::uplink
