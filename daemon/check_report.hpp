#pragma once
// The polling plan that `kaa-gatewayd --check` prints: per bus, each meter's requests.

#include <string>

#include "config/config.hpp"

namespace kaa {

/// Describes, per bus, each meter's read requests per poll and what they feed.
std::string describe_polling_plan(const config::GatewayConfig& config);

}  // namespace kaa
