#pragma once
// Whether a meter's answer to a profile's fingerprint check matches the check: the model
// recognition of `kaa-gateway scan`. No I/O here: the answer comes in, a verdict goes out.

#include <cstdint>
#include <vector>

#include "config/profiles.hpp"
#include "core/result.hpp"
#include "drivers/modbus/request_planner.hpp"

namespace kaa::modbus {

/// The one request a check makes: its function, address and register (or bit) count.
PlannedRead fingerprint_read(const config::FingerprintCheck& check);

/// True when `answer` (what the check's request returned: words or bits, or the error)
/// passes the check: readable needs any values; one_of and min/max decode them as the
/// check's type and byte order (strings lose trailing NULs and spaces, as when polled).
bool fingerprint_holds(const config::FingerprintCheck& check,
                       const Result<std::vector<uint16_t>>& answer);

}  // namespace kaa::modbus
