#pragma once
// What `kaa-gatewayd --check` reports: per bus, each meter's requests per poll and the
// estimated bus time against the poll intervals; a bus that cannot fit is an error.

#include <string>
#include <vector>

#include "config/config.hpp"

namespace kaa {

/// The plan as text, and the problems found in it ("file:line:column: message").
struct PlanCheck {
    std::string report;
    std::vector<std::string> errors;
    std::vector<std::string> warnings;
};

/// Describes, per bus, each meter's read requests per poll and the bus time they need.
PlanCheck check_polling_plan(const config::GatewayConfig& config);

}  // namespace kaa
