// kaa-gateway: the operator tool. `kaa-gateway simulate` serves simulated meters.
#include <atomic>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <thread>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "config/profiles.hpp"
#include "config/sim_config_loader.hpp"
#include "core/log.hpp"
#include "drivers/simulator/simulator.hpp"
#include "version.hpp"

namespace {

constexpr int kExitConfig = 78;

/// Blocks the stop signals and sets `stop` from a thread that waits for them.
void stop_on_signals(std::atomic<bool>& stop) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::thread([set, &stop] {
        int number = 0;
        sigwait(&set, &number);
        stop = true;
    }).detach();
}

int simulate(const std::string& path) {
    auto loaded = kaa::config::load_sim_config(path);
    for (const auto& w : loaded.warnings)
        std::cerr << w.to_string() << " (warning)\n";
    if (!loaded.errors.empty() || !loaded.config) {
        for (const auto& e : loaded.errors)
            std::cerr << e.to_string() << "\n";
        return kExitConfig;
    }
    std::atomic<bool> stop{false};
    stop_on_signals(stop);
    return kaa::sim::run_simulator_cli(*loaded.config, stop);
}

/// `kaa-gateway profiles [show ID]`: the meter profiles found, or one profile's file.
int profiles(const std::string& show_id) {
    const std::vector<std::string> dirs = kaa::config::default_profile_dirs();
    if (show_id.empty()) {
        std::cout << kaa::config::profiles_table(kaa::config::list_profiles(dirs));
        return 0;
    }
    const auto path = kaa::config::find_profile(show_id, dirs);
    if (!path) {
        std::cerr << "kaa-gateway: no profile '" << show_id << "' in";
        for (const auto& d : dirs)
            std::cerr << " " << d;
        std::cerr << "\n";
        return 1;
    }
    std::ifstream in(*path);
    std::cout << "# " << *path << "\n" << in.rdbuf();
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"kaa-gateway: operator tool for kaa-gatewayd"};
    app.require_subcommand(1);
    std::string log_level = "info";
    app.add_option("--log-level", log_level, "debug, info, warning or error");
    app.set_version_flag("--version", std::string("kaa-gateway ") + KAA_GATEWAY_VERSION);

    std::string sim_config;
    auto* sim = app.add_subcommand("simulate", "serve simulated meters over Modbus TCP and RTU");
    sim->add_option("-c,--config", sim_config, "simulator configuration file")->required();

    auto* prof = app.add_subcommand("profiles", "list the meter profiles (profile: ID in a meter)");
    std::string show_id;
    auto* show = prof->add_subcommand("show", "print one profile's file");
    show->add_option("id", show_id, "profile id, e.g. eastron-sdm630")->required();

    CLI11_PARSE(app, argc, argv);
    kaa::log::init(log_level);
    if (sim->parsed())
        return simulate(sim_config);
    if (prof->parsed())
        return profiles(show_id);
    return 0;
}
