#pragma once
// BusSet: the running bus workers, one per polled bus, each with the configuration it was
// built from. A reload stops and starts single buses; the others keep polling untouched
// (their worker still reads the configuration generation it started with).

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/clock.hpp"
#include "core/sample_sink.hpp"
#include "daemon/commands/job_runner.hpp"
#include "drivers/modbus/meter_health.hpp"

namespace kaa {

namespace modbus {
class BusWorker;
class LearnedCuts;
}  // namespace modbus

/// The bus workers of the gateway, by bus name; commands' jobs go to the meter's worker.
class BusSet final : public commands::JobRunner {
  public:
    /// Workers hand their samples to `sink` and learn where meters refuse merged reads into
    /// `learned`; `stall_bus_for_tests` names a bus whose worker hangs after one poll (test
    /// hook for the watchdog), empty for none.
    BusSet(const Clock& clock, SampleSink& sink, modbus::LearnedCuts& learned,
           std::string stall_bus_for_tests);
    ~BusSet() override;
    BusSet(const BusSet&) = delete;
    BusSet& operator=(const BusSet&) = delete;

    /// Starts a worker for each bus of `config` that has an active meter (`active` is per
    /// slot of config->meters); warns about buses without meters.
    void start_all(const std::shared_ptr<const config::GatewayConfig>& config,
                   const std::vector<bool>& active);
    /// Starts (or restarts: the old worker is stopped first) the workers of `names`.
    void restart(const std::shared_ptr<const config::GatewayConfig>& config,
                 const std::vector<bool>& active, const std::set<std::string>& names);
    /// Stops the workers of `names` for good (each finishes the request on the wire).
    void stop(const std::set<std::string>& names);
    /// Stops every worker.
    void stop_all();
    /// True when every worker made progress since the last call; else names a stalled one.
    bool all_progressed(std::string& stalled);
    /// Running workers.
    size_t size() const { return workers_.size(); }
    /// Meters polled by all workers.
    size_t meter_count() const;
    /// Polled meters whose last poll produced nothing.
    size_t failing_meters() const;
    /// Every running bus and its meters as their workers last saw them, by bus name.
    std::vector<std::pair<std::string, modbus::BusHealth>> health() const;
    /// Queues a job on the worker polling its meter (thread: the main loop's).
    Status submit(modbus::MeterJob job) override;

  private:
    /// A worker and the configuration generation its references point into.
    struct Running {
        std::shared_ptr<const config::GatewayConfig> config;
        std::unique_ptr<modbus::BusWorker> worker;
        uint64_t last_progress = 0;
    };
    void start_one(const std::shared_ptr<const config::GatewayConfig>& config, size_t bus_index,
                   std::vector<size_t> meters);

    const Clock& clock_;
    SampleSink& sink_;
    modbus::LearnedCuts& learned_;
    std::string stall_bus_for_tests_;
    std::map<std::string, Running> workers_;
};

}  // namespace kaa
