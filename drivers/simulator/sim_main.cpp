// kaa-gateway: the operator tool. `simulate` serves simulated meters; `read` and `scan`
// commission real ones; `profiles` lists the meter profiles.
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <thread>

#include <unistd.h>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "config/config_loader.hpp"
#include "config/profiles.hpp"
#include "config/sim_config_loader.hpp"
#include "core/log.hpp"
#include "daemon/status/status_render.hpp"
#include "daemon/status/status_socket.hpp"
#include "drivers/modbus/libmodbus_transport.hpp"
#include "drivers/modbus/probe.hpp"
#include "drivers/modbus/scan.hpp"
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

/// What `kaa-gateway status` was asked for.
struct StatusOptions {
    std::string socket;       // --socket
    std::string config;       // --config: the socket named by its status.socket
    bool json = false;        // --json: the document as the daemon serves it
    bool prometheus = false;  // --prometheus: Prometheus text
};

/// `kaa-gateway status`: the running daemon's state, from its status socket.
int show_status(const StatusOptions& o) {
    std::string path = o.socket.empty() ? kaa::config::StatusConfig{}.socket : o.socket;
    if (!o.config.empty()) {
        kaa::config::LoadOptions options;
        options.check_files = false;  // the secrets are the daemon's business, not ours
        const auto loaded = kaa::config::load_gateway_config(o.config, options);
        if (!loaded.config) {
            for (const auto& e : loaded.errors)
                std::cerr << e.to_string() << "\n";
            return kExitConfig;
        }
        path = loaded.config->status.socket;
        if (path.empty()) {
            std::cerr << "kaa-gateway: " << o.config << " turns the status socket off "
                      << "(status.socket: off)\n";
            return 1;
        }
    }
    auto text = kaa::status::read_status(path, std::chrono::seconds(5));
    if (!text) {
        std::cerr << "kaa-gateway: " << text.error().message << "\n";
        return 1;
    }
    if (o.json) {
        std::cout << text.value();
        return 0;
    }
    const auto doc = nlohmann::json::parse(text.value(), nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) {
        std::cerr << "kaa-gateway: " << path << " did not send a status document\n";
        return 1;
    }
    std::cout << (o.prometheus ? kaa::status::render_prometheus(doc)
                               : kaa::status::render_status_text(doc));
    return 0;
}

/// How `read` and `scan` reach the bus: --tcp HOST:PORT or --rtu DEVICE with its settings.
struct LinkOptions {
    std::string tcp;  // HOST:PORT
    std::string rtu;  // serial device
    int baud = 9600;
    std::string parity = "none";
    int data_bits = 8;
    int stop_bits = 1;
    int timeout_ms = 1000;
};

/// The options of `kaa-gateway read`.
struct ReadOptions {
    LinkOptions link;
    int unit = 1;
    std::string function = "holding";
    int address = 0;
    int count = 1;
    std::string profile;
};

/// The options of `kaa-gateway scan`.
struct ScanOptions {
    LinkOptions link;
    std::string units = "1-247";
};

/// The bus `read` or `scan` talks to (no retries: what the meter does is what is shown);
/// nullopt after saying what is wrong with the options.
std::optional<kaa::config::BusConfig> bus_from(const LinkOptions& o, const char* command) {
    namespace cfg = kaa::config;
    if (o.tcp.empty() == o.rtu.empty()) {
        std::cerr << "kaa-gateway " << command << ": give --tcp HOST:PORT or --rtu DEVICE\n";
        return std::nullopt;
    }
    cfg::BusConfig bus;
    bus.name = command;
    bus.timeout = cfg::Millis(o.timeout_ms);
    bus.retries = 0;
    if (!o.tcp.empty()) {
        const size_t colon = o.tcp.rfind(':');
        cfg::TcpLink link;
        link.host = o.tcp.substr(0, colon);
        if (colon != std::string::npos)
            link.port = std::atoi(o.tcp.c_str() + colon + 1);
        if (link.host.empty() || link.port <= 0 || link.port > 65535) {
            std::cerr << "kaa-gateway " << command << ": --tcp wants HOST:PORT, got '" << o.tcp
                      << "'\n";
            return std::nullopt;
        }
        bus.link = link;
        return bus;
    }
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
    return bus;
}

/// `kaa-gateway read`: one read from a meter, or a profile's registers once.
int read_meter(const ReadOptions& o) {
    namespace cfg = kaa::config;
    const auto bus = bus_from(o.link, "read");
    if (!bus)
        return 2;
    const bool bits = o.function == "coil" || o.function == "discrete";
    if ((!bits && o.count > 125) || o.address + o.count > 65536) {
        std::cerr << "kaa-gateway read: --count " << o.count << " from --address " << o.address
                  << " does not fit (at most 125 registers, 2000 bits)\n";
        return 2;
    }
    kaa::modbus::LibmodbusTransport transport(*bus);
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

/// The profiles that have a fingerprint (a broken profile file is named and left out).
std::vector<kaa::config::MeterProfile> fingerprinted_profiles() {
    std::vector<kaa::config::MeterProfile> out;
    for (auto& r : kaa::config::list_profiles(kaa::config::default_profile_dirs())) {
        for (const auto& e : r.errors)
            std::cerr << e.to_string() << " (profile left out of the scan)\n";
        if (r.profile && !r.profile->fingerprint.empty())
            out.push_back(std::move(*r.profile));
    }
    return out;
}

/// `kaa-gateway scan`: which units of a bus answer, and the profiles each may be.
int scan_bus(const ScanOptions& o) {
    const auto bus = bus_from(o.link, "scan");
    if (!bus)
        return 2;
    const auto units = kaa::modbus::parse_unit_list(o.units);
    if (!units) {
        std::cerr << "kaa-gateway scan: " << units.error().message << "\n";
        return 2;
    }
    const auto profiles = fingerprinted_profiles();
    std::cout << kaa::modbus::estimate_line(*bus, units.value()) << std::endl;
    // On a terminal one line is rewritten as the scan goes; in a pipe or a log, a line
    // every kProgressEvery units.
    constexpr size_t kProgressEvery = 10;
    const bool terminal = ::isatty(STDERR_FILENO) == 1;
    const auto progress = [&](const kaa::modbus::ScanProgress& p) {
        if (terminal)
            std::cerr << "\r" << kaa::modbus::progress_line(p) << (p.done == p.total ? "\n" : "")
                      << std::flush;
        else if (p.done % kProgressEvery == 0 || p.done == p.total)
            std::cerr << kaa::modbus::progress_line(p) << std::endl;
    };
    kaa::modbus::LibmodbusTransport transport(*bus);
    const kaa::SystemClock clock;
    const auto result =
        kaa::modbus::scan_units(*bus, transport, clock, units.value(), profiles, progress);
    const auto outcome = kaa::modbus::scan_report(result, units.value());
    std::cout << outcome.text;
    std::cerr << outcome.error;
    return outcome.exit_code;
}

/// Adds the link options of `read` and `scan` to a subcommand.
void add_link_options(CLI::App* cmd, LinkOptions& o) {
    auto* tcp = cmd->add_option("--tcp", o.tcp, "Modbus TCP peer HOST:PORT");
    auto* rtu = cmd->add_option("--rtu", o.rtu, "serial device, e.g. /dev/ttyUSB0");
    tcp->excludes(rtu);
    cmd->add_option("--baud", o.baud, "RTU baud rate")->check(CLI::Range(300, 1000000));
    cmd->add_option("--parity", o.parity, "none, even or odd")
        ->check(CLI::IsMember({"none", "even", "odd"}));
    cmd->add_option("--data-bits", o.data_bits, "7 or 8")->check(CLI::Range(7, 8));
    cmd->add_option("--stop-bits", o.stop_bits, "1 or 2")->check(CLI::Range(1, 2));
    cmd->add_option("--timeout-ms", o.timeout_ms, "how long to wait for each answer")
        ->check(CLI::Range(10, 60000));
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
    add_link_options(rd, ro.link);
    rd->add_option("--unit", ro.unit, "Modbus unit id")->check(CLI::Range(0, 247));
    rd->add_option("--function", ro.function, "holding, input, coil or discrete")
        ->check(CLI::IsMember({"holding", "input", "coil", "discrete"}));
    rd->add_option("--address", ro.address, "first register (0-based)")
        ->check(CLI::Range(0, 65535));
    rd->add_option("--count", ro.count, "registers (1..125) or bits (1..2000)")
        ->check(CLI::Range(1, 2000));
    rd->add_option("--profile", ro.profile, "read a profile's registers once: name = value");

    ScanOptions so;
    so.link.timeout_ms = 300;
    auto* sc = app.add_subcommand(
        "scan", "find the units of a bus that answer, and the profiles they may be");
    add_link_options(sc, so.link);
    sc->add_option("--units", so.units, "unit ids to ask: 1-247, 1,2,5 or 3")
        ->capture_default_str();

    StatusOptions sto;
    auto* st = app.add_subcommand("status",
                                  "show the running daemon's buses, meters, uplink "
                                  "and buffer (from its status socket)");
    auto* st_socket = st->add_option("--socket", sto.socket,
                                     "the status socket (default /run/kaa-gateway/status.sock)");
    st->add_option("-c,--config", sto.config, "use the status.socket of this configuration")
        ->excludes(st_socket);
    auto* st_json = st->add_flag("--json", sto.json, "print the status document (JSON)");
    st->add_flag("--prometheus", sto.prometheus, "print Prometheus text (textfile collector)")
        ->excludes(st_json);

    CLI11_PARSE(app, argc, argv);
    kaa::log::init(log_level);
    if (sim->parsed())
        return simulate(sim_config);
    if (prof->parsed())
        return profiles(show_id);
    if (rd->parsed())
        return read_meter(ro);
    if (sc->parsed())
        return scan_bus(so);
    if (st->parsed())
        return show_status(sto);
    return 0;
}
