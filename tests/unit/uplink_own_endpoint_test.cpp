// The gateway's own endpoint: metadata after every connect and only on change, health
// samples confirmed by /status, kept while the link is down (bounded), resent after a
// timeout or a 5xx, dropped after a 400, and never under a meter's token.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "daemon/kaa/own_endpoint.hpp"
#include "tests/fakes/fake_clock.hpp"
#include "tests/fakes/fake_mqtt.hpp"

namespace kaa::uplink {
namespace {

using nlohmann::json;
using ::testing::StartsWith;

constexpr const char* kDcx = "kp1/app-v1/dcx/tok-gw/json/";
constexpr const char* kEpmx = "kp1/app-v1/epmx/tok-gw/update/keys/";

class OwnEndpointTest : public ::testing::Test {
  protected:
    OwnEndpointTest() : endpoint_(settings(), mqtt_, clock_) {}

    static OwnEndpointSettings settings() {
        OwnEndpointSettings s;
        s.app_version = "app-v1";
        s.token = "tok-gw";
        s.response_timeout = std::chrono::seconds(10);
        s.max_waiting = 3;
        return s;
    }
    /// The request id at the end of a publish's topic.
    static std::string rid_of(const fakes::FakeMqtt::Publish& p) {
        return p.topic.substr(p.topic.rfind('/') + 1);
    }
    std::vector<fakes::FakeMqtt::Publish> published_under(const std::string& prefix) const {
        std::vector<fakes::FakeMqtt::Publish> out;
        for (const auto& p : mqtt_.published) {
            if (p.topic.rfind(prefix, 0) == 0)
                out.push_back(p);
        }
        return out;
    }

    fakes::FakeClock clock_;
    fakes::FakeMqtt mqtt_;
    OwnEndpoint endpoint_;
};

TEST_F(OwnEndpointTest, MetadataGoesAfterEveryConnectAndOnlyChangesInBetween) {
    endpoint_.set_metadata(json{{"version", "1.0"}, {"meters_configured", 2}});
    endpoint_.pump();
    EXPECT_TRUE(mqtt_.published.empty()) << "nothing before the first connect";

    endpoint_.handle_connected();
    auto md = published_under(kEpmx);
    ASSERT_EQ(md.size(), 1u);
    EXPECT_EQ(json::parse(md[0].payload), (json{{"version", "1.0"}, {"meters_configured", 2}}));
    EXPECT_TRUE(endpoint_.handle_reply(md[0].topic + "/status", "{}"));

    endpoint_.set_metadata(json{{"version", "1.0"}, {"meters_configured", 2}});
    endpoint_.pump();
    EXPECT_EQ(published_under(kEpmx).size(), 1u) << "unchanged metadata is not sent again";

    endpoint_.set_metadata(json{{"version", "1.0"}, {"meters_configured", 3}});
    endpoint_.pump();
    md = published_under(kEpmx);
    ASSERT_EQ(md.size(), 2u);
    EXPECT_EQ(json::parse(md[1].payload), (json{{"meters_configured", 3}})) << "only the change";
    EXPECT_TRUE(endpoint_.handle_reply(md[1].topic + "/status", "{}"));

    endpoint_.handle_disconnected();
    endpoint_.handle_connected();
    md = published_under(kEpmx);
    ASSERT_EQ(md.size(), 3u);
    EXPECT_EQ(json::parse(md[2].payload), (json{{"version", "1.0"}, {"meters_configured", 3}}))
        << "every key after a reconnect";
    EXPECT_EQ(endpoint_.counters().metadata_confirmed, 2u);
}

TEST_F(OwnEndpointTest, HealthSamplesCarryTheReadTimeAndWaitForTheirStatus) {
    endpoint_.handle_connected();
    endpoint_.add_sample(1'700'000'060'000, json{{"backlog_samples", 5}, {"skipped", nullptr}});
    endpoint_.pump();
    auto dcx = published_under(kDcx);
    ASSERT_EQ(dcx.size(), 1u);
    EXPECT_EQ(json::parse(dcx[0].payload),
              json::parse(R"([{"timestamp":1700000060000,"backlog_samples":5}])"));
    EXPECT_EQ(endpoint_.waiting(), 1u);

    endpoint_.add_sample(1'700'000'120'000, json{{"backlog_samples", 0}});
    endpoint_.pump();
    EXPECT_EQ(published_under(kDcx).size(), 1u) << "one batch in flight at a time";

    EXPECT_TRUE(endpoint_.handle_reply(dcx[0].topic + "/status", "{}"));
    dcx = published_under(kDcx);
    ASSERT_EQ(dcx.size(), 2u) << "the next one goes once the first is confirmed";
    EXPECT_EQ(json::parse(dcx[1].payload)[0]["timestamp"], 1'700'000'120'000);
    EXPECT_TRUE(endpoint_.handle_reply(dcx[1].topic + "/status", "{}"));
    EXPECT_EQ(endpoint_.waiting(), 0u);
    EXPECT_EQ(endpoint_.counters().samples_confirmed, 2u);
}

TEST_F(OwnEndpointTest, WhileDownTheNewestAreKeptWithinTheBoundAndGoInOneBatch) {
    for (int i = 0; i < 5; ++i)
        endpoint_.add_sample(1'700'000'000'000 + i * 60'000, json{{"n", i}});
    EXPECT_EQ(endpoint_.waiting(), 3u);
    EXPECT_EQ(endpoint_.counters().samples_dropped, 2u);
    endpoint_.handle_connected();
    const auto dcx = published_under(kDcx);
    ASSERT_EQ(dcx.size(), 1u);
    const json batch = json::parse(dcx[0].payload);
    ASSERT_EQ(batch.size(), 3u);
    EXPECT_EQ(batch[0]["n"], 2);
    EXPECT_EQ(batch[2]["n"], 4);
}

TEST_F(OwnEndpointTest, ATimeoutOrADisconnectSendsTheSamplesAgain) {
    endpoint_.handle_connected();
    endpoint_.add_sample(1'700'000'000'000, json{{"n", 1}});
    endpoint_.pump();
    ASSERT_EQ(published_under(kDcx).size(), 1u);
    ASSERT_TRUE(endpoint_.next_deadline().has_value());
    clock_.advance_to(*endpoint_.next_deadline());
    endpoint_.check_timeouts();
    auto dcx = published_under(kDcx);
    ASSERT_EQ(dcx.size(), 2u);
    EXPECT_NE(rid_of(dcx[0]), rid_of(dcx[1])) << "a new request id";
    EXPECT_TRUE(endpoint_.handle_reply(dcx[0].topic + "/status", "{}"))
        << "the late answer to the first is ours, and ignored";
    EXPECT_EQ(endpoint_.waiting(), 1u);

    endpoint_.handle_disconnected();
    endpoint_.handle_connected();
    dcx = published_under(kDcx);
    ASSERT_EQ(dcx.size(), 3u);
    EXPECT_TRUE(endpoint_.handle_reply(dcx[2].topic + "/status", "{}"));
    EXPECT_EQ(endpoint_.waiting(), 0u);
}

TEST_F(OwnEndpointTest, A5xxWaitsBeforeSendingAgainAnd400Drops) {
    endpoint_.handle_connected();
    endpoint_.add_sample(1'700'000'000'000, json{{"n", 1}});
    endpoint_.pump();
    auto dcx = published_under(kDcx);
    EXPECT_TRUE(endpoint_.handle_reply(dcx[0].topic + "/error",
                                       R"({"statusCode":503,"reasonPhrase":"busy"})"));
    endpoint_.pump();
    EXPECT_EQ(published_under(kDcx).size(), 1u) << "no tight loop against a failing platform";
    ASSERT_TRUE(endpoint_.next_deadline().has_value());
    clock_.advance_to(*endpoint_.next_deadline());
    endpoint_.check_timeouts();
    dcx = published_under(kDcx);
    ASSERT_EQ(dcx.size(), 2u);

    EXPECT_TRUE(endpoint_.handle_reply(dcx[1].topic + "/error",
                                       R"({"statusCode":400,"reasonPhrase":"bad"})"));
    EXPECT_EQ(endpoint_.waiting(), 0u);
    EXPECT_EQ(endpoint_.counters().samples_dropped, 1u);
    EXPECT_EQ(endpoint_.counters().errors_received, 2u);
    EXPECT_FALSE(endpoint_.next_deadline().has_value()) << "nothing left to wake up for";
}

TEST_F(OwnEndpointTest, RepliesForOtherTokensAreNotTaken) {
    endpoint_.handle_connected();
    EXPECT_FALSE(endpoint_.handle_reply("kp1/app-v1/dcx/tok-meter/json/1/status", "{}"));
    EXPECT_FALSE(endpoint_.handle_reply("kp1/other/dcx/tok-gw/json/1/status", "{}"));
    EXPECT_FALSE(endpoint_.handle_reply("garbage", "{}"));
    endpoint_.add_sample(1'700'000'000'000, json{{"n", 1}});
    endpoint_.pump();
    for (const auto& p : mqtt_.published)
        EXPECT_THAT(p.topic, StartsWith("kp1/app-v1/dcx/tok-gw/"));
}

TEST_F(OwnEndpointTest, PublishFailuresKeepTheSamples) {
    endpoint_.handle_connected();
    mqtt_.up = false;
    endpoint_.add_sample(1'700'000'000'000, json{{"n", 1}});
    endpoint_.pump();
    EXPECT_EQ(endpoint_.waiting(), 1u);
    mqtt_.up = true;
    endpoint_.pump();
    ASSERT_EQ(published_under(kDcx).size(), 1u);
}

}  // namespace
}  // namespace kaa::uplink
