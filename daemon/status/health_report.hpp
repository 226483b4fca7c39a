#pragma once
// What the gateway tells Kaa about itself under gateway.token, taken from the same status
// document `kaa-gateway status` shows (status_render.hpp), so both always agree: metadata
// (what it is and what it runs) and health samples (backlog, drops, link, buses, meters).

#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace kaa::status {

/// Facts about the machine, read once at start.
struct HostFacts {
    std::string hostname;
    std::string os;      // PRETTY_NAME of /etc/os-release, else the kernel's name
    std::string kernel;  // release, e.g. 6.1.0-rpi7-rpi-v8
    std::string arch;    // machine, e.g. aarch64
};

/// Reads the host's name, OS, kernel release and architecture.
HostFacts read_host_facts();

/// The gateway endpoint's EPMP metadata: version, host, client id, the buses and meters
/// configured (names and counts) and the configuration file, from a status document.
nlohmann::json gateway_metadata(const nlohmann::json& status, const HostFacts& host,
                                const std::string& client_id);

/// Builds health samples; remembers each bus's transaction counts between samples, so that
/// a sample's error rates cover the time since the one before.
class HealthReporter {
  public:
    /// One flat health sample (no timestamp) from a status document:
    ///   uptime_s, connected (0/1), reconnects, in_flight, samples_delivered,
    ///   samples_rejected, backlog_samples, backlog_bytes, backlog_oldest_age_s,
    ///   samples_dropped (by policy and unstored), meters, meters_failing, and per bus
    ///   `bus_<name>_up` (1 open, 0 down or starting), `bus_<name>_utilisation` (measured, else
    ///   left out), `bus_<name>_requests`, `bus_<name>_errors` and `bus_<name>_error_rate` (since
    ///   the previous sample; the rate left out when there were no requests).
    nlohmann::json sample(const nlohmann::json& status);

  private:
    struct BusCounts {
        uint64_t requests = 0;
        uint64_t errors = 0;
    };
    std::map<std::string, BusCounts> last_;
};

}  // namespace kaa::status
