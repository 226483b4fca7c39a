#pragma once
// The text `kaa-gateway read` prints: a meter's raw registers and every way of decoding
// them side by side, so that the engineer at the meter finds the type and byte order that
// give the number on the meter's display. No I/O here: the words come in, text goes out.

#include <cstdint>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/value.hpp"

namespace kaa::modbus {

/// Registers read from `address` on: each as hex, uint16 and int16; each pair as uint32,
/// int32 and float32 in the four byte orders; each run of four as uint64, int64 and float64
/// in the four orders; and all of them as a string (non-printable bytes escaped).
std::string describe_registers(uint16_t address, const std::vector<uint16_t>& words);

/// Coils or discrete inputs read from `address` on, one per line (0 or 1).
std::string describe_bits(uint16_t address, const std::vector<uint16_t>& bits);

/// "229.7", "true", "\"SN123\"": a decoded value as `--profile` prints it.
std::string format_value(const Value& value);

}  // namespace kaa::modbus
