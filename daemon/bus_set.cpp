// Starting, stopping and watching the bus workers.
#include "daemon/bus_set.hpp"

#include <spdlog/spdlog.h>

#include "drivers/modbus/bus_worker.hpp"
#include "drivers/modbus/libmodbus_transport.hpp"

namespace kaa {
namespace {

// The component named in log lines, under a name of its own: with KAA_UNITY_BUILD this
// file shares one translation unit with the rest of its library.
constexpr const char* kBusSetLog = "gateway";

/// Slots of the active meters on bus `name`.
std::vector<size_t> meters_on(const config::GatewayConfig& config, const std::vector<bool>& active,
                              const std::string& name) {
    std::vector<size_t> out;
    for (size_t m = 0; m < config.meters.size(); ++m) {
        if (m < active.size() && active[m] && config.meters[m].bus == name)
            out.push_back(m);
    }
    return out;
}

}  // namespace

BusSet::BusSet(const Clock& clock, SampleSink& sink, modbus::LearnedCuts& learned,
               std::string stall_bus_for_tests)
    : clock_(clock),
      sink_(sink),
      learned_(learned),
      stall_bus_for_tests_(std::move(stall_bus_for_tests)) {}

BusSet::~BusSet() {
    stop_all();
}

void BusSet::start_one(const std::shared_ptr<const config::GatewayConfig>& config, size_t bus_index,
                       std::vector<size_t> meters) {
    const auto& bus = config->buses[bus_index];
    Running running;
    running.config = config;
    running.worker = std::make_unique<modbus::BusWorker>(
        *config, bus_index, std::move(meters), std::make_unique<modbus::LibmodbusTransport>(bus),
        clock_, sink_, std::random_device{}(), &learned_);
    if (bus.name == stall_bus_for_tests_)
        running.worker->stall_after_first_poll_for_tests();
    running.worker->start();
    workers_[bus.name] = std::move(running);
}

void BusSet::start_all(const std::shared_ptr<const config::GatewayConfig>& config,
                       const std::vector<bool>& active) {
    for (size_t b = 0; b < config->buses.size(); ++b) {
        const auto& name = config->buses[b].name;
        std::vector<size_t> meters = meters_on(*config, active, name);
        if (meters.empty()) {
            spdlog::warn("{}: bus {} has no meters; not opening it", kBusSetLog, name);
            continue;
        }
        start_one(config, b, std::move(meters));
    }
}

void BusSet::restart(const std::shared_ptr<const config::GatewayConfig>& config,
                     const std::vector<bool>& active, const std::set<std::string>& names) {
    stop(names);
    for (size_t b = 0; b < config->buses.size(); ++b) {
        const auto& name = config->buses[b].name;
        if (names.count(name) == 0)
            continue;
        std::vector<size_t> meters = meters_on(*config, active, name);
        if (!meters.empty())
            start_one(config, b, std::move(meters));
    }
}

void BusSet::stop(const std::set<std::string>& names) {
    for (const auto& name : names) {
        auto it = workers_.find(name);
        if (it == workers_.end())
            continue;
        it->second.worker->stop();
        workers_.erase(it);
    }
}

void BusSet::stop_all() {
    for (auto& [name, running] : workers_)
        running.worker->stop();
    workers_.clear();
}

bool BusSet::all_progressed(std::string& stalled) {
    for (auto& [name, running] : workers_) {
        const uint64_t progress = running.worker->progress();
        if (progress == running.last_progress) {
            stalled = name;
            return false;
        }
        running.last_progress = progress;
    }
    return true;
}

size_t BusSet::meter_count() const {
    size_t n = 0;
    for (const auto& [name, running] : workers_)
        n += running.worker->meter_count();
    return n;
}

size_t BusSet::failing_meters() const {
    size_t n = 0;
    for (const auto& [name, running] : workers_)
        n += running.worker->failing_meters();
    return n;
}

std::vector<std::pair<std::string, modbus::BusHealth>> BusSet::health() const {
    std::vector<std::pair<std::string, modbus::BusHealth>> out;
    out.reserve(workers_.size());
    for (const auto& [name, running] : workers_)
        out.emplace_back(name, running.worker->health());
    return out;
}

Status BusSet::submit(modbus::MeterJob job) {
    for (auto& [name, running] : workers_) {
        const auto& meters = running.config->meters;
        if (job.meter_index >= meters.size() || meters[job.meter_index].bus != name)
            continue;
        const std::string meter = meters[job.meter_index].name;
        if (running.worker->submit_job(std::move(job)))
            return {};
        return make_error(ErrorKind::kUnavailable,
                          fmt::format("bus {} has {} commands waiting already (meter {}); send it "
                                      "again later",
                                      name, modbus::BusWorker::kMaxQueuedJobs, meter));
    }
    return make_error(ErrorKind::kUnavailable, "the meter's bus is not running");
}

}  // namespace kaa
