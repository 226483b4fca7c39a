#include "drivers/simulator/simulator.hpp"

#include <chrono>
#include <variant>

#include <spdlog/spdlog.h>

#include "drivers/simulator/converter_server.hpp"
#include "drivers/simulator/rtu_server.hpp"
#include "drivers/simulator/tcp_server.hpp"

namespace kaa::sim {
namespace {

const Clock& machine_clock() {
    static const SystemClock clock;
    return clock;
}

std::unique_ptr<Server> make_server(const config::SimServerConfig& s, UnitSet& units) {
    if (const auto* tcp = std::get_if<config::TcpLink>(&s.link); tcp && s.converter) {
        return std::make_unique<ConverterServer>(s.name, *tcp, *s.converter, units);
    }
    if (const auto* tcp = std::get_if<config::TcpLink>(&s.link)) {
        return std::make_unique<TcpServer>(s.name, *tcp, units);
    }
    return std::make_unique<RtuServer>(s.name, std::get<config::RtuLink>(s.link), units);
}

}  // namespace

Simulator::Simulator(config::SimConfig config) : Simulator(std::move(config), machine_clock()) {}

Simulator::Simulator(config::SimConfig config, const Clock& clock) : config_(std::move(config)) {
    for (const auto& s : config_.servers) {
        units_.push_back(std::make_unique<UnitSet>(s.units, clock));
    }
}

Simulator::~Simulator() {
    stop();
}

Status Simulator::start() {
    if (!threads_.empty()) {
        return make_error(ErrorKind::kInvalidArgument, "simulator already started");
    }
    servers_.clear();
    ports_.assign(config_.servers.size(), 0);
    for (size_t i = 0; i < config_.servers.size(); ++i) {
        servers_.push_back(make_server(config_.servers[i], *units_[i]));
        const Status opened = servers_.back()->open();
        if (!opened.ok()) {
            servers_.clear();
            return opened;
        }
        ports_[i] = servers_.back()->tcp_port();
    }
    stopping_ = false;
    for (const auto& server : servers_) {
        Server* s = server.get();
        threads_.emplace_back([this, s] { s->serve(stopping_); });
    }
    return {};
}

void Simulator::run_until_stopped(const std::atomic<bool>& stop_flag) {
    while (!stop_flag.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    stop();
}

void Simulator::stop() {
    stopping_ = true;
    for (auto& t : threads_) {
        t.join();
    }
    threads_.clear();
    servers_.clear();
}

std::string Simulator::describe(size_t server) const {
    if (server < servers_.size()) {
        return servers_[server]->describe();
    }
    return make_server(config_.servers.at(server), *units_.at(server))->describe();
}

uint16_t Simulator::tcp_port(size_t server) const {
    return server < ports_.size() ? ports_[server] : 0;
}

size_t Simulator::unit_count(size_t server) const {
    return units_.at(server)->size();
}

int run_simulator_cli(const config::SimConfig& config, const std::atomic<bool>& stop_flag) {
    Simulator simulator(config);
    const Status started = simulator.start();
    if (!started.ok()) {
        spdlog::error("simulate: {}", started.error().message);
        return 1;
    }
    for (size_t i = 0; i < simulator.server_count(); ++i) {
        const size_t n = simulator.unit_count(i);
        spdlog::info("simulate: serving {} unit{} on {}", n, n == 1 ? "" : "s",
                     simulator.describe(i));
    }
    simulator.run_until_stopped(stop_flag);
    spdlog::info("simulate: stopped");
    return 0;
}

}  // namespace kaa::sim
