// kaa-gatewayd: the daemon's entry point (command line, config, run).
#include <malloc.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "config/config_loader.hpp"
#include "config/isolated_loader.hpp"
#include "core/clock.hpp"
#include "core/log.hpp"
#include "daemon/gateway.hpp"
#include "daemon/remote_config_file.hpp"
#include "daemon/signal_route.hpp"
#include "daemon/system_clock_probe.hpp"
#include "daemon/tls/openssl_inspector.hpp"
#include "drivers/modbus/plan_report.hpp"
#include "version.hpp"

namespace {

constexpr int kExitConfig = 78;  // EX_CONFIG: systemd must not restart into the same error

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"kaa-gatewayd: polls Modbus meters and publishes their readings to Kaa"};
    std::string config_path = "/etc/kaa-gateway/gateway.yaml";
    std::string log_level = "info";
    bool check = false;
    bool version = false;
    app.add_option("-c,--config", config_path, "configuration file")->capture_default_str();
    app.add_flag("--check", check, "validate the configuration, print the polling plan, exit");
    app.add_option("--log-level", log_level, "debug, info, warning or error")
        ->capture_default_str();
    app.add_flag("--version", version, "print the version and exit");
    std::string service_user = "kaa-gateway";
    app.add_option("--service-user", service_user,
                   "with --check: the user the service runs as, whom the files named must be "
                   "readable by (\"\" to skip)")
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    if (version) {
        std::printf("kaa-gatewayd %s\n", KAA_GATEWAY_VERSION);
        return 0;
    }
    if (!kaa::log::init(log_level)) {
        spdlog::warn("unknown --log-level '{}'; using info", log_level);
    }

    kaa::config::LoadOptions load_options;
    load_options.missing_files_are_errors = !check;
    static const kaa::tls::OpensslInspector tls_inspector;
    load_options.tls_inspector = &tls_inspector;
    if (check) {
        // --check says everything that will stop the service from connecting; the daemon
        // itself starts anyway (and keeps every reading) and says it at each attempt.
        load_options.tls_problems_are_errors = true;
        load_options.service_user = service_user;
    }
    // Parsed in a child process: the YAML tree's memory never counts against a daemon that
    // runs for years, and a parser crash cannot take it down.
    auto loaded = kaa::config::load_gateway_config_isolated(config_path, load_options);
    // kaa.remote_config: the configuration last pushed from Kaa and applied is laid over it.
    std::string remote_path;
    if (loaded.config && loaded.config->kaa.remote_config)
        remote_path = kaa::remote_config_path(loaded.config->buffer.path);
    std::string remote_note;
    std::string remote_id;
    loaded = kaa::with_remote_config(std::move(loaded), load_options, remote_note, remote_id);
    for (const auto& w : loaded.warnings)
        std::cerr << w.to_string() << " (warning)\n";
    if (!loaded.errors.empty() || !loaded.config) {
        for (const auto& e : loaded.errors)
            std::cerr << e.to_string() << "\n";
        const size_t n = loaded.errors.size();
        std::cerr << config_path << ": "
                  << (n > kaa::config::kMaxConfigErrors
                          ? "more than " + std::to_string(kaa::config::kMaxConfigErrors) + " errors"
                          : std::to_string(n) + (n == 1 ? " error" : " errors"))
                  << "; nothing was started\n";
        return kExitConfig;
    }
    kaa::config::GatewayConfig& config = *loaded.config;

    const kaa::PlanCheck plan = kaa::check_polling_plan(config);
    if (check) {
        std::cout << "config " << config_path << " is valid: " << config.buses.size()
                  << (config.buses.size() == 1 ? " bus, " : " buses, ") << config.meters.size()
                  << (config.meters.size() == 1 ? " meter\n" : " meters\n") << plan.report
                  << "kaa: client id " << config.kaa.client_id << "\n"
                  << "kaa: samples carry their read time as \"" << config.kaa.timestamp.key
                  << "\" (" << kaa::config::to_string(config.kaa.timestamp.format) << "); set "
                  << kaa::config::epts_setting_line(config.kaa.timestamp) << "\n";
        if (config.kaa.remote_config) {
            std::cout << "kaa: configuration pushed from Kaa is accepted (kaa.remote_config) on "
                         "endpoint "
                      << config.gateway.token << "; "
                      << (remote_note.empty() ? "none is in force now" : remote_note) << "\n";
        }
        for (const auto& w : plan.warnings)
            std::cerr << w << " (warning)\n";
        for (const auto& e : plan.errors)
            std::cerr << e << "\n";
        return plan.errors.empty() ? 0 : kExitConfig;
    }
    // A plan that cannot fit still polls (slower than asked): better than not polling.
    for (const auto& w : plan.warnings)
        spdlog::warn("gateway: {}", w);
    for (const auto& e : plan.errors)
        spdlog::error("gateway: {}", e);
    if (!remote_note.empty())
        spdlog::info("gateway: {}", remote_note);

    std::signal(SIGPIPE, SIG_IGN);
    // A platform message of megabytes passes through libmosquitto's buffers once; under
    // glibc's self-raising mmap threshold those would stay in the heap for good after it.
    // A fixed threshold hands every block over 1 MiB back to the system when it is freed.
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    kaa::GatewayOptions options;
    if (const char* stall = std::getenv("KAA_TEST_STALL_BUS"))
        options.stall_bus_for_tests = stall;
    static std::unique_ptr<kaa::ClockSyncProbe> test_clock_probe;
    if (const char* flag = std::getenv("KAA_TEST_CLOCK_SYNC_FILE")) {
        test_clock_probe = std::make_unique<kaa::FlagFileClockProbe>(flag);
        options.clock_probe = test_clock_probe.get();
    }
    options.tls_inspector = &tls_inspector;
    options.remote_config_path = remote_path;
    options.remote_config_id = remote_id;
    static const kaa::SystemClock clock;  // the one real clock; everything waits through it
    kaa::Gateway gateway(std::move(config), clock, options);
    // Declared after the gateway: its thread ends before the gateway goes.
    const kaa::SignalRoute signals([&gateway](int number) { gateway.post_signal(number); });
    return gateway.run();
}
