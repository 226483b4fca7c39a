#pragma once
// Value: one decoded reading of a register, as typed as the meter's register map says.

#include <cstdint>
#include <string>
#include <variant>

namespace kaa {

/// A decoded value: bits are bools, integer types keep their sign, floats and scaled values
/// are doubles, strings are text.
using Value = std::variant<bool, int64_t, uint64_t, double, std::string>;

}  // namespace kaa
