// Rate-limited warnings of the command side.
#include "daemon/commands/platform_requests.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace kaa::commands {

void LimitedWarnings::warn(const std::string& key, const std::string& message) {
    int suppressed = 0;
    if (!limiter_.allow(key, suppressed))
        return;
    spdlog::warn("{}: {}{}", component_, message,
                 suppressed > 0 ? fmt::format(" ({} more like it not logged)", suppressed) : "");
}

}  // namespace kaa::commands
