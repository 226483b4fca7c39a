#pragma once
// Loading of the simulator configuration: YAML file -> validated SimConfig, or every
// error found, each with file:line:column.

#include <optional>
#include <string>
#include <vector>

#include "config/config_error.hpp"
#include "config/sim_config.hpp"

namespace kaa::config {

/// The outcome of loading: a configuration only when there are no errors.
struct LoadSimResult {
    std::optional<SimConfig> config;
    std::vector<ConfigError> errors;
    std::vector<ConfigError> warnings;
};

/// Loads and validates the simulator configuration file at path. An unreadable file gives
/// one error naming the path. Never throws.
LoadSimResult load_sim_config(const std::string& path);

/// Loads and validates simulator configuration text; file_name is used in locations and as
/// the configuration's source_path. Never throws.
LoadSimResult load_sim_config_text(const std::string& yaml_text, const std::string& file_name);

}  // namespace kaa::config
