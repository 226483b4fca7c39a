#pragma once
// One problem found in a configuration file. The loaders' results (config_loader.hpp,
// sim_config_loader.hpp) carry these; this header knows nothing of YAML, so the rest of
// the project can name errors without seeing yaml-cpp (only config/*.cpp include
// yaml_reader.hpp).

#include <cstddef>
#include <string>

#include "config/config.hpp"

namespace kaa::config {

/// Errors a loader reports per file; a last line then says how many more there were.
inline constexpr size_t kMaxConfigErrors = 200;

/// One problem found in a configuration file, and where it was written.
struct ConfigError {
    Location where;
    std::string message;

    /// "file:line:column: message", or "file: message" when the position is unknown.
    std::string to_string() const;
};

}  // namespace kaa::config
