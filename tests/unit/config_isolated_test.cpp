// Tests of the configuration loaded in a child process (isolated_loader) and of the JSON
// form of configurations and load results (config_json) that carries it back.
#include "config/isolated_loader.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "config/config_json.hpp"
#include "tests/unit/config_test_helpers.hpp"

namespace kaa::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using namespace kaa::config::testing;  // NOLINT: test helpers

const std::string kExample = KAA_SOURCE_DIR "/config/examples/gateway.yaml";
const std::string kReference = KAA_SOURCE_DIR "/config/reference.yaml";

/// A file with the given text under /tmp, removed when the object goes.
class TempFile {
  public:
    /// Writes text to a new file.
    explicit TempFile(const std::string& text) {
        int fd = mkstemp(path_);
        EXPECT_GE(fd, 0);
        if (fd >= 0) {
            close(fd);
        }
        std::ofstream(path_, std::ios::binary) << text;
    }
    /// Removes the file.
    ~TempFile() { std::remove(path_); }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;

    /// Where the file is.
    std::string path() const { return path_; }

  private:
    char path_[32] = "/tmp/kaa-iso-XXXXXX";
};

/// Options that do not look at files on disk (the reference names /etc paths).
LoadOptions no_file_checks() {
    LoadOptions options;
    options.check_files = false;
    return options;
}

/// A gateway config with meters x registers_per_meter registers of varied kinds, as the
/// polling benchmark uses (100 x 20 is about 260 KB of YAML).
std::string generated_config(int meters, int registers_per_meter) {
    static const char* const kTypes[] = {"float32", "uint32",  "int16", "uint16",
                                         "int32",   "float64", "int64", "uint64"};
    static const char* const kOrders[] = {"ABCD", "CDAB", "BADC", "DCBA"};
    std::ostringstream out;
    out << "kaa:\n  host: 127.0.0.1\n  port: 1883\n  app_version: bench_v1\n"
           "  client_id: kaa-gw-bench\n  keepalive: 60s\n  response_timeout: 30s\n"
           "  reconnect:\n    min_delay: 1s\n    max_delay: 30s\n"
           "buffer:\n  path: /tmp/kaa-iso-bench.db\n  max_size: 64MiB\n"
           "buses:\n  - name: bench\n    tcp:\n      host: 127.0.0.1\n      port: 15020\n"
           "    timeout: 500ms\n    retries: 1\n"
           "meters:\n";
    for (int m = 1; m <= meters; ++m) {
        char token[32];
        std::snprintf(token, sizeof token, "meter-%03d", m);
        out << "  - name: " << token << "\n    token: " << token << "\n    bus: bench\n"
            << "    unit: " << m << "\n    poll_interval: 10s\n"
            << "    metadata:\n      model: \"PM-" << m << "\"\n      serial: " << 100000 + m
            << "\n      ratio: " << 0.1 * m << "\n"
            << "    registers:\n";
        for (int r = 0; r < registers_per_meter; ++r) {
            out << "      - name: value_" << r << "\n        address: " << r * 4
                << "\n        function: " << (r % 3 == 0 ? "holding" : "input")
                << "\n        type: " << kTypes[r % 8] << "\n";
            if (r % 4 != 0) {
                out << "        byte_order: " << kOrders[r % 4] << "\n";
            }
            if (r % 2 == 0) {
                out << "        scale: 0.1\n";
            }
            if (r % 5 == 0) {
                out << "        offset: -273.15\n";
            }
        }
    }
    return out.str();
}

/// Expects two results to be equal field by field (through their JSON documents).
void expect_same(const LoadResult& in_process, const LoadResult& isolated) {
    EXPECT_EQ(messages(isolated.errors), messages(in_process.errors));
    EXPECT_EQ(messages(isolated.warnings), messages(in_process.warnings));
    EXPECT_EQ(isolated.config.has_value(), in_process.config.has_value());
    EXPECT_TRUE(to_json(in_process) == to_json(isolated))
        << "in process: " << to_json(in_process).dump().substr(0, 2000)
        << "\nisolated:   " << to_json(isolated).dump().substr(0, 2000);
}

TEST(ConfigIsolated, ExampleLoadsAsInProcess) {
    for (const LoadOptions& options : {LoadOptions{}, no_file_checks()}) {
        const LoadResult in_process = load_gateway_config(kExample, options);
        const LoadResult isolated = load_gateway_config_isolated(kExample, options);
        ASSERT_TRUE(isolated.config);
        EXPECT_THAT(messages(isolated.errors), IsEmpty());
        expect_same(in_process, isolated);
    }
}

TEST(ConfigIsolated, ReferenceLoadsAsInProcess) {
    const LoadResult in_process = load_gateway_config(kReference, no_file_checks());
    const LoadResult isolated = load_gateway_config_isolated(kReference, no_file_checks());
    ASSERT_TRUE(isolated.config);
    ASSERT_TRUE(isolated.config->kaa.tls);
    ASSERT_TRUE(isolated.config->kaa.auth);
    EXPECT_THAT(messages(isolated.warnings), ElementsAre(HasSubstr(":10:9: kaa: port 1883")));
    expect_same(in_process, isolated);
}

TEST(ConfigIsolated, BrokenConfigGivesTheSameErrorsAndWarnings) {
    TempFile file(
        "kaa:\n  host: h\n  app_version: av\n  port: 1883\n  qos: 7\n"
        "  tls: {ca_file: /ca.pem}\n  colour: blue\n"
        "buses:\n  - name: b\n    tcp: {host: 127.0.0.1}\n"
        "meters:\n  - name: m\n    token: t\n    bus: nowhere\n    registers: []\n");
    const LoadResult in_process = load_gateway_config(file.path(), no_file_checks());
    const LoadResult isolated = load_gateway_config_isolated(file.path(), no_file_checks());
    EXPECT_FALSE(isolated.config);
    EXPECT_GE(isolated.errors.size(), 3u);
    EXPECT_THAT(messages(isolated.errors)[0], HasSubstr(file.path() + ":"));
    expect_same(in_process, isolated);
}

TEST(ConfigIsolated, YamlSyntaxErrorGivesTheSameError) {
    TempFile file("kaa:\n  host: [unclosed\n");
    const LoadResult in_process = load_gateway_config(file.path(), no_file_checks());
    const LoadResult isolated = load_gateway_config_isolated(file.path(), no_file_checks());
    EXPECT_THAT(messages(isolated.errors), ElementsAre(HasSubstr(file.path() + ":")));
    expect_same(in_process, isolated);
}

TEST(ConfigIsolated, MissingFileGivesTheSameSingleError) {
    const std::string path = "/nonexistent/kaa-gateway/gateway.yaml";
    const LoadResult in_process = load_gateway_config(path);
    const LoadResult isolated = load_gateway_config_isolated(path);
    EXPECT_THAT(messages(isolated.errors), ElementsAre(path + ": cannot open config file '" + path +
                                                       "': No such file or directory"));
    expect_same(in_process, isolated);
}

TEST(ConfigIsolated, LargeConfigLoadsIdentically) {
    const std::string yaml = generated_config(100, 20);
    EXPECT_GT(yaml.size(), 150'000u);
    TempFile file(yaml);
    const LoadResult in_process = load_gateway_config(file.path(), no_file_checks());
    ASSERT_THAT(messages(in_process.errors), IsEmpty());
    // More than a pipe buffer (64 KiB) crosses the pipe, so the parent must read as it goes.
    EXPECT_GT(nlohmann::json::to_cbor(to_json(in_process)).size(), 65'536u);
    const LoadResult isolated = load_gateway_config_isolated(file.path(), no_file_checks());
    ASSERT_TRUE(isolated.config);
    ASSERT_EQ(isolated.config->meters.size(), 100u);
    EXPECT_EQ(isolated.config->meters[99].registers.size(), 20u);
    EXPECT_EQ(isolated.config->meters[99].registers[5].offset, -273.15);
    EXPECT_EQ(isolated.config->meters[99].registers[2].scale, 0.1);
    expect_same(in_process, isolated);
}

/// A child loader that dies by SIGABRT (without leaving a core file).
LoadResult abort_loader(const std::string&, const LoadOptions&) {
    const rlimit no_core{0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    std::abort();
}

/// A child loader that exits with status 3 without writing anything.
LoadResult exit_loader(const std::string&, const LoadOptions&) {
    _exit(3);
}

/// A child loader that exits with status 0 without writing anything.
LoadResult silent_loader(const std::string&, const LoadOptions&) {
    _exit(0);
}

/// A child loader that never finishes (a parse that hangs).
LoadResult hanging_loader(const std::string&, const LoadOptions&) {
    for (;;)
        pause();
}

TEST(ConfigIsolated, CancelledParseKillsTheChildAndIsAnError) {
    // Set before the call: the child is forked and hangs, and the first look at the flag
    // kills it, as a SIGTERM during a reload does.
    std::atomic<bool> cancel{true};
    IsolationLimits limits;
    limits.cancel = &cancel;
    const LoadResult r = detail::load_isolated_with(kExample, {}, &hanging_loader, limits);
    EXPECT_FALSE(r.config);
    EXPECT_THAT(messages(r.errors),
                ElementsAre(kExample + ": loading the configuration was cancelled (the daemon "
                                       "stops)"));
    EXPECT_EQ(waitpid(-1, nullptr, WNOHANG), -1);  // reaped: no child left behind
    EXPECT_EQ(errno, ECHILD);
}

TEST(ConfigIsolated, ParseOverTheTimeLimitKillsTheChildAndIsAnError) {
    IsolationLimits limits;
    limits.time_limit = std::chrono::seconds(1);
    const LoadResult r = detail::load_isolated_with(kExample, {}, &hanging_loader, limits);
    EXPECT_FALSE(r.config);
    EXPECT_THAT(messages(r.errors),
                ElementsAre(kExample + ": the configuration took more than 1 s to parse; the "
                                       "parser was stopped and the file not loaded"));
    EXPECT_EQ(waitpid(-1, nullptr, WNOHANG), -1);
}

TEST(ConfigIsolated, CrashedParserIsAnErrorNotACrash) {
    const LoadResult r = detail::load_isolated_with(kExample, {}, &abort_loader);
    EXPECT_FALSE(r.config);
    EXPECT_THAT(messages(r.errors),
                ElementsAre(kExample + ": configuration parser crashed (SIGABRT (Aborted)); the "
                                       "file was not loaded"));
    EXPECT_THAT(messages(r.warnings), IsEmpty());
}

TEST(ConfigIsolated, FailedChildFallsBackToInProcessWithAWarning) {
    const LoadResult in_process = load_gateway_config(kReference, no_file_checks());
    LoadResult r = detail::load_isolated_with(kReference, no_file_checks(), &exit_loader);
    ASSERT_TRUE(r.config);
    ASSERT_FALSE(r.warnings.empty());
    EXPECT_EQ(r.warnings[0].to_string(),
              kReference +
                  ": could not parse the configuration in a child process (the child exited "
                  "with status 3); parsed it in the daemon's process");
    r.warnings.erase(r.warnings.begin());
    expect_same(in_process, r);
}

TEST(ConfigIsolated, EmptyResultFallsBackToInProcessWithAWarning) {
    const LoadResult in_process = load_gateway_config(kExample, no_file_checks());
    LoadResult r = detail::load_isolated_with(kExample, no_file_checks(), &silent_loader);
    ASSERT_FALSE(r.warnings.empty());
    EXPECT_THAT(r.warnings[0].to_string(), HasSubstr("(its result was empty or invalid)"));
    r.warnings.erase(r.warnings.begin());
    expect_same(in_process, r);
}

TEST(ConfigIsolated, WorksWhenChildrenAreReapedAutomatically) {
    // With SIGCHLD ignored, waitpid fails with ECHILD; the complete result still counts.
    const auto previous = std::signal(SIGCHLD, SIG_IGN);
    const LoadResult isolated = load_gateway_config_isolated(kReference, no_file_checks());
    std::signal(SIGCHLD, previous);
    expect_same(load_gateway_config(kReference, no_file_checks()), isolated);
}

TEST(ConfigJson, RoundTripsEveryFieldExactly) {
    LoadResult original = load_gateway_config(kReference, no_file_checks());
    ASSERT_TRUE(original.config);
    GatewayConfig& c = *original.config;
    c.kaa.keepalive = Millis{1234567};
    c.kaa.max_in_flight = 977;
    c.kaa.live_window = Millis{1500};
    c.buffer.max_size_bytes = 0xFFFF'FFFF'FFFF'FFFFull;
    ASSERT_FALSE(c.meters.empty());
    ASSERT_FALSE(c.meters[0].registers.empty());
    c.meters[0].registers[0].scale = 0.1;
    c.meters[0].registers[0].offset = -1.0e-300;
    c.meters[0].registers[0].address = 65535;
    c.meters[0].metadata = {{"n", -5}, {"f", 2.5e-7}, {"list", {1, "a", nullptr, true}}};
    original.errors.push_back(ConfigError{Location{"x.yaml", 3, 4}, "an error"});

    const nlohmann::json doc = to_json(original);
    for (const nlohmann::json& carried : {nlohmann::json::from_cbor(nlohmann::json::to_cbor(doc)),
                                          nlohmann::json::parse(doc.dump())}) {
        const std::optional<LoadResult> back = load_result_from_json(carried);
        ASSERT_TRUE(back);
        ASSERT_TRUE(back->config);
        const RegisterConfig& reg = back->config->meters[0].registers[0];
        EXPECT_EQ(reg.scale, 0.1);
        EXPECT_EQ(reg.offset, -1.0e-300);
        EXPECT_EQ(reg.address, 65535);
        EXPECT_EQ(back->config->buffer.max_size_bytes, 0xFFFF'FFFF'FFFF'FFFFull);
        EXPECT_EQ(back->config->kaa.keepalive, Millis{1234567});
        EXPECT_EQ(back->config->kaa.max_in_flight, 977);
        EXPECT_EQ(back->config->kaa.live_window, Millis{1500});
        EXPECT_EQ(back->config->meters[0].metadata, c.meters[0].metadata);
        EXPECT_THAT(messages(back->errors), ElementsAre("x.yaml:3:4: an error"));
        expect_same(original, *back);
    }
}

TEST(ConfigJson, TcpLinkAndAbsentOptionalsRoundTrip) {
    const LoadResult original = load_gateway_config(kExample, no_file_checks());
    ASSERT_TRUE(original.config);
    ASSERT_FALSE(original.config->kaa.tls);
    const std::optional<LoadResult> back = load_result_from_json(to_json(original));
    ASSERT_TRUE(back);
    ASSERT_TRUE(back->config);
    EXPECT_FALSE(back->config->kaa.tls);
    EXPECT_FALSE(back->config->kaa.auth);
    ASSERT_EQ(back->config->buses.size(), original.config->buses.size());
    EXPECT_TRUE(std::holds_alternative<TcpLink>(back->config->buses[0].link));
    EXPECT_TRUE(std::holds_alternative<RtuLink>(back->config->buses[1].link));
    expect_same(original, *back);
}

TEST(ConfigJson, MalformedDocumentsAreRejected) {
    const LoadResult good = load_gateway_config(kReference, no_file_checks());
    ASSERT_TRUE(good.config);
    const nlohmann::json doc = to_json(good);
    EXPECT_TRUE(load_result_from_json(doc));

    EXPECT_FALSE(load_result_from_json(nlohmann::json()));
    EXPECT_FALSE(load_result_from_json(nlohmann::json::array()));
    EXPECT_FALSE(load_result_from_json(nlohmann::json::object()));
    EXPECT_FALSE(load_result_from_json(nlohmann::json::parse("{\"config\": null}")));

    // doc with the value at pointer replaced (or removed when value is discarded).
    auto with = [&doc](const std::string& pointer, const nlohmann::json& value) {
        nlohmann::json changed = doc;
        if (value.is_discarded()) {
            changed.at(nlohmann::json::json_pointer(pointer).parent_pointer())
                .erase(nlohmann::json::json_pointer(pointer).back());
        } else {
            changed[nlohmann::json::json_pointer(pointer)] = value;
        }
        return changed;
    };
    const nlohmann::json removed(nlohmann::json::value_t::discarded);
    EXPECT_FALSE(load_result_from_json(with("/config/kaa/port", "1883")));
    EXPECT_FALSE(load_result_from_json(with("/config/kaa/port", 1e10)));
    EXPECT_FALSE(load_result_from_json(with("/config/kaa/port", 4'000'000'000u)));
    EXPECT_FALSE(load_result_from_json(with("/config/kaa/delivery", "sometimes")));
    EXPECT_FALSE(load_result_from_json(with("/config/kaa/tls", 1)));
    EXPECT_FALSE(load_result_from_json(with("/config/kaa/auth", removed)));
    EXPECT_FALSE(load_result_from_json(with("/config/buffer/max_size_bytes", -1)));
    EXPECT_FALSE(load_result_from_json(with("/config/buses/0/tcp", {{"host", "h"}, {"port", 1}})));
    EXPECT_FALSE(load_result_from_json(with("/config/buses/0/rtu", removed)));
    EXPECT_FALSE(load_result_from_json(with("/config/meters/0/registers/0/address", 65536)));
    EXPECT_FALSE(load_result_from_json(with("/config/meters/0/registers/0/scale", "1")));
    EXPECT_FALSE(load_result_from_json(with("/config/meters/0/registers/0/where", removed)));
    EXPECT_FALSE(load_result_from_json(with("/config/meters/0/metadata", removed)));
    EXPECT_FALSE(load_result_from_json(with("/errors", nlohmann::json::object())));
    EXPECT_FALSE(load_result_from_json(with("/warnings/0/line", "10")));
}

}  // namespace
}  // namespace kaa::config
