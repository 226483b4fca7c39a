#pragma once
// ConfigDiff: what a configuration reload changes. Compares the running configuration
// with a newly loaded one and says which meters were added, changed or removed, which
// bus workers must be (re)started or stopped, and which settings only a restart applies.
//
// Meters keep their index ("slot") for the life of the process: the sample store, the
// uplink and every Sample name a meter by it. So the configuration to run after a reload
// lists the running meters in their slots (with their new settings), removed meters still
// in theirs (inactive: not polled, but their buffered samples are still delivered), and
// new meters appended. A meter that comes back after a removal gets its old slot again.

#include <set>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace kaa {

/// The outcome of comparing the running configuration with a newly loaded one.
struct ConfigDiff {
    /// The configuration to run: the new file's buses, meters in slot order, and the
    /// running kaa: and buffer: sections (those apply only at a restart).
    config::GatewayConfig next;
    /// Per slot of next.meters: configured in the new file (else removed, not polled).
    std::vector<bool> active;
    std::vector<size_t> added;    // slots of meters new in this file (or back again)
    std::vector<size_t> changed;  // slots of meters whose settings changed
    std::vector<size_t> removed;  // slots of meters the new file no longer has
    /// Buses whose worker starts anew: new, changed, or a meter on it added/changed/removed.
    std::set<std::string> restart_buses;
    /// Buses whose worker stops for good: gone from the file, or without meters now.
    std::set<std::string> stop_buses;
    /// Settings that differ but apply only at a restart, e.g. "kaa.host", "buffer.path".
    std::vector<std::string> needs_restart;

    /// True when the reload changes nothing that runs (needs_restart aside).
    bool no_live_change() const {
        return added.empty() && changed.empty() && removed.empty() && restart_buses.empty() &&
               stop_buses.empty();
    }
};

/// Compares `running` (meters in slot order, `active` per slot) with `loaded`, a valid
/// configuration just read from the file. Locations (line:column) are not compared: a
/// meter that only moved within the file is unchanged.
ConfigDiff diff_configs(const config::GatewayConfig& running, const std::vector<bool>& active,
                        config::GatewayConfig loaded);

/// The buses that have a running worker under this configuration: those with at least
/// one active meter.
std::set<std::string> polled_buses(const config::GatewayConfig& config,
                                   const std::vector<bool>& active);

}  // namespace kaa
