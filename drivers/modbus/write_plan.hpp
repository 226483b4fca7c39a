#pragma once
// Planning Modbus writes from a Kaa `write` command (11/CEP): every value checked against
// the meter's writable registers (known, writable, of the right kind, in range), turned into
// register words by inverse scaling and the register's byte order.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "core/result.hpp"

namespace kaa::modbus {

/// One write on the wire: function 05/06 for one coil or register, 15/16 for more (or when
/// the register asks for it).
struct WriteRequest {
    config::RegisterFunction function = config::RegisterFunction::kHolding;  // or kCoil
    uint16_t address = 0;
    std::vector<uint16_t> words;  // the registers to write; a coil: one word, 0 or 1
    bool multiple = false;        // 15/16 instead of 05/06
};

/// One checked write of a command.
struct PlannedWrite {
    const config::WritableConfig* writable = nullptr;  // in the meter's configuration
    nlohmann::json value;                              // as the command gave it
    WriteRequest request;
};

/// The request that writes `value` to `w`: raw = (value - offset) / scale, which must be a
/// whole number for integer types (within a millionth of a step), within min..max and
/// within the type. A coil takes true/false (or 0/1). The error says why, naming the value.
Result<WriteRequest> plan_write(const config::WritableConfig& w, const nlohmann::json& value);

/// Checks a `write` command's payload, an object of "<writable name>": value, against the
/// meter: every name must be a writable register and every value writable. Nothing is
/// planned unless all are: the error lists every invalid entry by name.
Result<std::vector<PlannedWrite>> plan_write_command(const config::MeterConfig& meter,
                                                     const nlohmann::json& payload);

}  // namespace kaa::modbus
