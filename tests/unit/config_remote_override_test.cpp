// A configuration pushed from Kaa laid over the local file, errors named by JSON path.
#include "config/remote_override.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "tests/unit/config_test_helpers.hpp"

namespace kaa::config {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::messages;

constexpr const char* kLocal = R"(kaa:
  host: 127.0.0.1
  app_version: av1
  remote_config: true
gateway:
  token: gw-1
buses:
  - {name: b1, tcp: {host: 127.0.0.1, port: 5020}}
meters:
  - name: m1
    token: tok-1
    bus: b1
    poll_interval: 10s
    registers:
      - {name: power, address: 0, function: input, type: uint16}
)";

class RemoteOverrideTest : public ::testing::Test {
  protected:
    void SetUp() override {
        char dir_template[] = "/tmp/kaa-remote-XXXXXX";
        dir = ::mkdtemp(dir_template);
        path = dir + "/gateway.yaml";
        std::ofstream(path) << kLocal;
        options.check_files = false;
    }
    void TearDown() override { fs::remove_all(dir); }
    std::string dir;
    std::string path;
    LoadOptions options;
};

TEST_F(RemoteOverrideTest, PushedKeysReplaceTheFilesAndTheRestStays) {
    const json pushed = json::parse(R"({"kaa": {"qos": 0},
        "meters": [{"name": "m1", "token": "tok-1", "bus": "b1", "poll_interval": "2s",
                    "registers": [{"name": "power", "address": 0, "function": "input",
                                   "type": "uint16"}]}]})");
    const LoadResult r = load_with_override(path, pushed, options);
    ASSERT_TRUE(r.config) << ::testing::PrintToString(messages(r.errors));
    EXPECT_EQ(r.config->meters.at(0).poll_interval, std::chrono::seconds(2));
    EXPECT_EQ(r.config->kaa.qos, 0);
    EXPECT_EQ(r.config->kaa.app_version, "av1");  // from the file
    EXPECT_TRUE(r.config->kaa.remote_config);
    EXPECT_EQ(r.config->gateway.token, "gw-1");
    EXPECT_EQ(r.config->source_path, path);
    // null removes a key: the file's value goes, the default comes back.
    const LoadResult dropped =
        load_with_override(path, json::parse(R"({"kaa": {"qos": null}})"), options);
    ASSERT_TRUE(dropped.config);
    EXPECT_EQ(dropped.config->kaa.qos, 1);
}

TEST_F(RemoteOverrideTest, ErrorsNameTheirJsonPathAndEveryOneIsReported) {
    const json pushed = json::parse(R"({"kaa": {"qos": 5},
        "meters": [{"name": "m1", "token": "tok-1", "bus": "b1", "poll_interval": "fast",
                    "registers": [{"name": "power", "address": 0, "function": "input",
                                   "type": "uint16"}]}]})");
    const LoadResult r = load_with_override(path, pushed, options);
    EXPECT_FALSE(r.config);
    const auto errors = messages(r.errors);
    ASSERT_EQ(errors.size(), 2u) << ::testing::PrintToString(errors);
    EXPECT_EQ(errors[0].rfind("remote configuration: kaa.qos: ", 0), 0u) << errors[0];
    EXPECT_EQ(errors[1].rfind("remote configuration: meters[0].poll_interval: ", 0), 0u)
        << errors[1];
    const LoadResult not_object = load_with_override(path, json::array({1}), options);
    ASSERT_EQ(not_object.errors.size(), 1u);
    EXPECT_NE(not_object.errors[0].message.find("must be an object"), std::string::npos);
}

TEST(RemoteConfigKeysTest, RemoteConfigNeedsTheGatewaysOwnToken) {
    const auto errs = testing::errors(
        "kaa:\n  host: h\n  app_version: av\n  remote_config: true\n"
        "meters: []\n");
    ASSERT_EQ(errs.size(), 1u);
    EXPECT_EQ(errs[0],
              "t.yaml:4:18: kaa: remote_config needs gateway.token: the gateway's own "
              "endpoint is the one that receives its configuration");
    const auto clash = testing::errors(
        "kaa: {host: h, app_version: av}\ngateway: {token: tok-1}\n"
        "buses: [{name: b1, tcp: {host: 127.0.0.1, port: 5020}}]\n"
        "meters: [{name: m1, token: tok-1, bus: b1, registers: [{name: p, address: 0, "
        "function: input, type: uint16}]}]\n");
    ASSERT_EQ(clash.size(), 1u);
    EXPECT_NE(clash[0].find("is already the token of meter 'm1'"), std::string::npos) << clash[0];
}

}  // namespace
}  // namespace kaa::config
