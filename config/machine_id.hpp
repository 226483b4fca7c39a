#pragma once
// The default MQTT client id: stable across reboots and hostname changes, unique per
// installation (every Pi left as "raspberrypi" would otherwise share one and the broker
// would disconnect them from each other forever).

#include <string>

namespace kaa::config {

/// "kaa-gw-<first 12 hex digits of the machine id>" read from `machine_id_path`
/// (/etc/machine-id); "kaa-gw-<hostname>" when the file is missing or not a machine id.
std::string default_client_id(const std::string& machine_id_path = "/etc/machine-id");

}  // namespace kaa::config
