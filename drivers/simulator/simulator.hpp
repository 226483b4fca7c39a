#pragma once
// The meter simulator: one Modbus server (TCP or RTU) per configured bus, each on its own
// thread, answering for the simulated units of that bus.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "config/sim_config.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "drivers/simulator/server.hpp"
#include "drivers/simulator/unit_set.hpp"

namespace kaa::sim {

/// Runs every server of a SimConfig. Values start moving when the Simulator is constructed.
class Simulator {
  public:
    /// Simulates the configuration with the machine's clock.
    explicit Simulator(config::SimConfig config);
    /// Simulates the configuration with the given clock (it must outlive the Simulator).
    Simulator(config::SimConfig config, const Clock& clock);
    ~Simulator();
    Simulator(const Simulator&) = delete;
    Simulator& operator=(const Simulator&) = delete;

    /// Binds/opens every server and starts one thread per server; on failure nothing keeps
    /// running and the error names the server (e.g. port already in use).
    Status start();
    /// Blocks until stop_flag is set (checked every 50 ms), then stops the servers.
    void run_until_stopped(const std::atomic<bool>& stop_flag);
    /// Stops the server threads (within about 100 ms) and closes sockets and devices.
    void stop();

    /// Number of servers in the configuration.
    size_t server_count() const { return config_.servers.size(); }
    /// Where server i serves, e.g. "tcp 127.0.0.1:15020" (with the bound port once started).
    std::string describe(size_t server) const;
    /// The port TCP server i is bound to after start() (0 for RTU servers or before start).
    uint16_t tcp_port(size_t server) const;
    /// Number of units server i answers for.
    size_t unit_count(size_t server) const;

  private:
    config::SimConfig config_;
    std::vector<std::unique_ptr<UnitSet>> units_;
    std::vector<std::unique_ptr<Server>> servers_;
    std::vector<uint16_t> ports_;
    std::vector<std::thread> threads_;
    std::atomic<bool> stopping_{false};
};

/// The `simulate` command: starts a Simulator, logs one line per server, runs until
/// stop_flag is set. Returns 0 after a clean stop, 1 when a server cannot start.
int run_simulator_cli(const config::SimConfig& config, const std::atomic<bool>& stop_flag);

}  // namespace kaa::sim
