// 11/CEP and 7/CMP topics, and the command and result payloads.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "daemon/commands/command_messages.hpp"
#include "daemon/kaa/command_topics.hpp"

namespace kaa::commands {
namespace {

using Kind = uplink::CommandTopic::Kind;
using nlohmann::json;

TEST(CommandTopicsTest, RecognisesPushesRepliesAndNothingElse) {
    const uplink::CommandTopics t("av1");
    auto push = t.parse("kp1/av1/cex/tok-1/command/write/status");
    ASSERT_TRUE(push);
    EXPECT_EQ(push->kind, Kind::kCommandPush);
    EXPECT_EQ(push->token, "tok-1");
    EXPECT_EQ(push->type, "write");
    EXPECT_EQ(push->request_id, 0u);
    auto observed = t.parse("kp1/av1/cex/tok-1/command/read/17/status");
    ASSERT_TRUE(observed);
    EXPECT_EQ(observed->kind, Kind::kCommandPush);
    EXPECT_EQ(observed->request_id, 17u);
    auto refused = t.parse("kp1/av1/cex/tok-1/command/read/17/error");
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->kind, Kind::kObserveError);
    auto result = t.parse("kp1/av1/cex/tok-1/result/write/9/error");
    ASSERT_TRUE(result);
    EXPECT_EQ(result->kind, Kind::kResultReply);
    EXPECT_FALSE(result->success);
    auto config = t.parse("kp1/av1/cmx/gw/config/json/status");
    ASSERT_TRUE(config);
    EXPECT_EQ(config->kind, Kind::kConfigPush);
    auto applied = t.parse("kp1/av1/cmx/gw/applied/json/3/status");
    ASSERT_TRUE(applied);
    EXPECT_EQ(applied->kind, Kind::kAppliedReply);
    for (const char* other :
         {"kp1/av2/cex/tok-1/command/write/status", "kp1/av1/cex/tok-1/command/write",
          "kp1/av1/cex/tok-1/result/write/status", "kp1/av1/cex/tok-1/result/write/0/status",
          "kp1/av1/cex/tok-1/command/write/x/status", "kp1/av1/cex//command/write/status",
          "kp1/av1/cex/tok-1/command//status", "kp1/av1/cex/tok-1/command/write/error",
          "kp1/av1/dcx/tok-1/json/4/status", "kp1/av1/cmx/gw/config/xml/status",
          "kp1/av1/cex/tok-1/command/write/1/2/status"}) {
        EXPECT_FALSE(t.parse(other)) << other;
    }
    EXPECT_EQ(t.result("tok-1", "write", 5), "kp1/av1/cex/tok-1/result/write/5");
    EXPECT_EQ(t.observe("tok-1", "read", 6), "kp1/av1/cex/tok-1/command/read/6");
    EXPECT_EQ(t.config_applied("gw", 7), "kp1/av1/cmx/gw/applied/json/7");
    for (const std::string& filter : t.filters()) {  // each filter's own shape is recognised
        std::string topic = filter;
        for (size_t at = topic.find('+'); at != std::string::npos; at = topic.find('+'))
            topic.replace(at, 1, at == 11 || at == 12 ? "tok" : "7");
        EXPECT_TRUE(t.parse(topic)) << filter << " -> " << topic;
    }
}

TEST(CommandMessagesTest, ReadsCommandsAndSaysWhatCannotBeAnswered) {
    auto parsed = parse_pushed_commands(
        R"([{"id": 1, "payload": {"a": 1}}, {"id": 2}, {"payload": 3}, 4, {"id": "5"}])");
    ASSERT_TRUE(parsed);
    ASSERT_EQ(parsed.value().commands.size(), 2u);
    EXPECT_EQ(parsed.value().commands[0].id, 1);
    EXPECT_EQ(parsed.value().commands[0].payload, json::parse(R"({"a": 1})"));
    EXPECT_TRUE(parsed.value().commands[1].payload.is_null());
    EXPECT_EQ(parsed.value().problems.size(), 3u);
    auto single = parse_pushed_commands(R"({"id": 8, "payload": null})");
    ASSERT_TRUE(single);
    EXPECT_EQ(single.value().commands.size(), 1u);
    EXPECT_FALSE(parse_pushed_commands("\"text\""));
    auto broken = parse_pushed_commands("[{\"id\": 1,\n");
    ASSERT_FALSE(broken);
    EXPECT_EQ(broken.error().message.find('\n'), std::string::npos);  // one log line
    EXPECT_TRUE(parse_pushed_commands("[]").value().commands.empty());
}

TEST(CommandMessagesTest, WritesOneResultAndNeverThrowsOnBadText) {
    CommandResult r{12, 502, "meter sent \xff", nullptr};
    const json body = json::parse(result_message(r));
    EXPECT_EQ(body,
              json::parse(R"([{"id":12,"statusCode":502,"reasonPhrase":"meter sent \ufffd"}])"));
    r.payload = nlohmann::ordered_json::object({{"b", 1}, {"a", 2}});
    EXPECT_EQ(result_message(r).find(R"("payload":{"b":1,"a":2})"),
              result_message(r).find("\"payload\""));
}

}  // namespace
}  // namespace kaa::commands
