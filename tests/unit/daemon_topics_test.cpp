// 1/KP topic building and reply recognition.
#include <gtest/gtest.h>

#include "daemon/kaa/topics.hpp"

namespace kaa::uplink {
namespace {

TEST(TopicsTest, BuildsRequestTopicsExactly) {
    Topics t("demo_application_v1");
    EXPECT_EQ(t.samples("meter-17", 42), "kp1/demo_application_v1/dcx/meter-17/json/42");
    EXPECT_EQ(t.metadata_update("myToken", 7),
              "kp1/demo_application_v1/epmx/myToken/update/keys/7");
}

TEST(TopicsTest, RecognisesStatusAndErrorReplies) {
    Topics t("av");
    auto ok = t.parse_reply("kp1/av/dcx/meter-17/json/42/status");
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->extension, Extension::kDataCollection);
    EXPECT_EQ(ok->token, "meter-17");
    EXPECT_EQ(ok->request_id, 42u);
    EXPECT_TRUE(ok->success);
    auto err = t.parse_reply("kp1/av/epmx/tok/update/keys/2147483647/error");
    ASSERT_TRUE(err);
    EXPECT_EQ(err->extension, Extension::kMetadata);
    EXPECT_EQ(err->request_id, 2147483647u);
    EXPECT_FALSE(err->success);
}

TEST(TopicsTest, RejectsEverythingElse) {
    Topics t("av");
    for (const char* topic : {
             "kp1/av/dcx/tok/json/42",                 // the request itself
             "kp1/other/dcx/tok/json/42/status",       // another application
             "kp1/av/dcx/tok/json/0/status",           // request ids start at 1
             "kp1/av/dcx/tok/json/2147483648/status",  // above 2^31-1
             "kp1/av/dcx/tok/json/04/status",          // not plain decimal
             "kp1/av/dcx/tok/json/x/status",
             "kp1/av/dcx//json/1/status",
             "kp1/av/epmx/tok/update/1/status",
             "kp1/av/cex/tok/command/reboot/status",
             "kp2/av/dcx/tok/json/1/status",
             "",
         }) {
        EXPECT_FALSE(t.parse_reply(topic)) << topic;
    }
}

TEST(TopicsTest, ReplyFiltersCoverBothExtensions) {
    Topics t("av");
    EXPECT_EQ(t.reply_filters().size(), 4u);
    EXPECT_EQ(t.reply_filters()[0], "kp1/av/dcx/+/json/+/status");
    EXPECT_EQ(t.reply_filters()[3], "kp1/av/epmx/+/update/keys/+/error");
}

}  // namespace
}  // namespace kaa::uplink
