#pragma once
// What `kaa-gatewayd --check` reports: per bus, each meter's requests per poll and the
// estimated bus time against the poll intervals; a bus that cannot fit is an error.
// Beside the planner (request_planner.hpp) and the bus-time estimate (bus_budget.hpp)
// it describes, and needs nothing else but the configuration. In namespace kaa, where
// its callers (kaa-gatewayd's --check and the reload in daemon/gateway_reload.cpp)
// name it.

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
