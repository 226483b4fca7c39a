// Formatting of configuration errors.
#include "config/config_error.hpp"

namespace kaa::config {

std::string ConfigError::to_string() const {
    if (where.line <= 0) {
        return where.file + ": " + message;
    }
    return where.file + ":" + std::to_string(where.line) + ":" + std::to_string(where.column) +
           ": " + message;
}

}  // namespace kaa::config
