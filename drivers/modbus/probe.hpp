#pragma once
// The probe behind `kaa-gateway read`: one read from a meter (or a profile's registers),
// reported as text, with an exit code that says whether the meter answered.

#include <cstdint>
#include <string>

#include "config/config.hpp"
#include "config/profiles.hpp"
#include "drivers/modbus/meter_transport.hpp"

namespace kaa::modbus {

/// One read: which unit, which table, from where, how many.
struct ProbeRequest {
    int unit = 1;
    config::RegisterFunction function = config::RegisterFunction::kHolding;
    uint16_t address = 0;
    uint16_t count = 1;
};

/// What the probe prints, and the exit code: 0 answered, 1 a Modbus exception, a timeout or
/// an unusable reply (named in the text), 2 the link could not be used.
struct ProbeOutcome {
    int exit_code = 0;
    std::string text;
};

/// Reads once and describes the raw registers (or bits) and their decodings.
ProbeOutcome probe_read(MeterTransport& transport, const ProbeRequest& request);

/// Reads every register of a profile once (as the gateway would plan it) and prints
/// name = value, one per line; registers that could not be read say why.
ProbeOutcome probe_profile(MeterTransport& transport, int unit,
                           const config::MeterProfile& profile);

}  // namespace kaa::modbus
