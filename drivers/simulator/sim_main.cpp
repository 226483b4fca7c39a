// kaa-gateway: the operator tool. `kaa-gateway simulate` serves simulated meters.
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <thread>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "config/profiles.hpp"
#include "config/sim_config_loader.hpp"
#include "core/log.hpp"
#include "drivers/modbus/libmodbus_transport.hpp"
#include "drivers/modbus/probe.hpp"
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

/// The options of `kaa-gateway read`.
struct ReadOptions {
    std::string tcp;  // HOST:PORT
    std::string rtu;  // serial device
    int baud = 9600;
    std::string parity = "none";
    int data_bits = 8;
    int stop_bits = 1;
    int unit = 1;
    std::string function = "holding";
    int address = 0;
    int count = 1;
    int timeout_ms = 1000;
    std::string profile;
};

/// `kaa-gateway read`: one read from a meter, or a profile's registers once.
int read_meter(const ReadOptions& o) {
    namespace cfg = kaa::config;
    cfg::BusConfig bus;
    bus.name = "probe";
    bus.timeout = cfg::Millis(o.timeout_ms);
    bus.retries = 0;
    if (!o.tcp.empty()) {
        const size_t colon = o.tcp.rfind(':');
        cfg::TcpLink link;
        link.host = o.tcp.substr(0, colon);
        if (colon != std::string::npos)
            link.port = std::atoi(o.tcp.c_str() + colon + 1);
        if (link.host.empty() || link.port <= 0 || link.port > 65535) {
            std::cerr << "kaa-gateway read: --tcp wants HOST:PORT, got '" << o.tcp << "'\n";
            return 2;
        }
        bus.link = link;
    } else {
        cfg::RtuLink link;
        link.device = o.rtu;
        link.baud = o.baud;
        link.parity = o.parity == "even"  ? cfg::Parity::kEven
                      : o.parity == "odd" ? cfg::Parity::kOdd
                                          : cfg::Parity::kNone;
        link.data_bits = o.data_bits;
        link.stop_bits = o.stop_bits;
        bus.link = link;
        bus.inter_request_delay = cfg::Millis(20);  // as the daemon's default for RTU
    }
    kaa::modbus::LibmodbusTransport transport(bus);
    kaa::modbus::ProbeOutcome outcome;
    if (!o.profile.empty()) {
        const auto path = cfg::find_profile(o.profile, cfg::default_profile_dirs());
        if (!path) {
            std::cerr << "kaa-gateway read: no profile '" << o.profile
                      << "' (kaa-gateway profiles lists them)\n";
            return 2;
        }
        cfg::ProfileResult loaded = cfg::load_profile_file(*path);
        for (const auto& e : loaded.errors)
            std::cerr << e.to_string() << "\n";
        if (!loaded.profile)
            return 2;
        outcome = kaa::modbus::probe_profile(transport, o.unit, *loaded.profile);
    } else {
        kaa::modbus::ProbeRequest request;
        request.unit = o.unit;
        request.function = o.function == "input"      ? cfg::RegisterFunction::kInput
                           : o.function == "coil"     ? cfg::RegisterFunction::kCoil
                           : o.function == "discrete" ? cfg::RegisterFunction::kDiscrete
                                                      : cfg::RegisterFunction::kHolding;
        request.address = static_cast<uint16_t>(o.address);
        request.count = static_cast<uint16_t>(o.count);
        outcome = kaa::modbus::probe_read(transport, request);
    }
    (outcome.exit_code == 0 ? std::cout : std::cerr) << outcome.text;
    return outcome.exit_code;
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

    ReadOptions ro;
    auto* rd = app.add_subcommand(
        "read", "read a meter once and print every decoding of its registers (commissioning)");
    auto* tcp = rd->add_option("--tcp", ro.tcp, "Modbus TCP peer HOST:PORT");
    auto* rtu = rd->add_option("--rtu", ro.rtu, "serial device, e.g. /dev/ttyUSB0");
    tcp->excludes(rtu);
    rd->add_option("--baud", ro.baud, "RTU baud rate")->check(CLI::Range(300, 1000000));
    rd->add_option("--parity", ro.parity, "none, even or odd")
        ->check(CLI::IsMember({"none", "even", "odd"}));
    rd->add_option("--data-bits", ro.data_bits, "7 or 8")->check(CLI::Range(7, 8));
    rd->add_option("--stop-bits", ro.stop_bits, "1 or 2")->check(CLI::Range(1, 2));
    rd->add_option("--unit", ro.unit, "Modbus unit id")->check(CLI::Range(0, 247));
    rd->add_option("--function", ro.function, "holding, input, coil or discrete")
        ->check(CLI::IsMember({"holding", "input", "coil", "discrete"}));
    rd->add_option("--address", ro.address, "first register (0-based)")
        ->check(CLI::Range(0, 65535));
    rd->add_option("--count", ro.count, "registers (1..125) or bits (1..2000)")
        ->check(CLI::Range(1, 2000));
    rd->add_option("--timeout-ms", ro.timeout_ms, "how long to wait for the answer")
        ->check(CLI::Range(10, 60000));
    rd->add_option("--profile", ro.profile, "read a profile's registers once: name = value");

    CLI11_PARSE(app, argc, argv);
    kaa::log::init(log_level);
    if (sim->parsed())
        return simulate(sim_config);
    if (prof->parsed())
        return profiles(show_id);
    if (rd->parsed()) {
        if (ro.tcp.empty() == ro.rtu.empty()) {
            std::cerr << "kaa-gateway read: give --tcp HOST:PORT or --rtu DEVICE\n";
            return 2;
        }
        const bool bits = ro.function == "coil" || ro.function == "discrete";
        if ((!bits && ro.count > 125) || ro.address + ro.count > 65536) {
            std::cerr << "kaa-gateway read: --count " << ro.count << " from --address "
                      << ro.address << " does not fit (at most 125 registers, 2000 bits)\n";
            return 2;
        }
        return read_meter(ro);
    }
    return 0;
}
