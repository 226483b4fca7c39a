#pragma once
// Converts between Modbus registers/bits and typed values, for every type and
// byte order the configuration allows. Used by the poller (decode) and the
// simulator (encode).

#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "core/value.hpp"

namespace kaa::modbus {

/// A decoded value (the core's vocabulary type).
using Value = kaa::Value;

/// Decodes one register-based value from exactly register_count(type, length) words,
/// honouring the byte order. No scale/offset is applied. Floats: a float32 becomes the
/// double nearest its shortest decimal form (229.7f -> 229.7, not 229.69999694824219).
/// Strings: 2 characters per register up to the first NUL, trailing spaces trimmed, and
/// bytes that are not UTF-8 replaced by U+FFFD.
Value decode_words(const config::RegisterConfig& reg, std::span<const uint16_t> words);

/// Decodes a bit (coil or discrete input) into a bool Value.
Value decode_bit(uint8_t bit);

/// Applies value = raw * scale + offset. With scale 1 and offset 0 the value is unchanged;
/// otherwise numbers become doubles rounded to 15 significant digits (2297*0.1 -> 229.7).
/// bool and string are returned unchanged.
Value apply_scale(const Value& raw, double scale, double offset);

/// Encodes a value into register words with the given type and byte order
/// (the inverse of decode_words). Numbers are converted to the type (truncated
/// toward zero for integers); strings are padded with NULs to `length` registers.
std::vector<uint16_t> encode_words(const config::RegisterConfig& reg, const Value& value);

/// Stores the value under `name` in a JSON object. Non-finite doubles are not
/// stored (JSON cannot carry them); returns false in that case.
bool put_json(nlohmann::ordered_json& object, const std::string& name, const Value& value);

/// Converts a JSON scalar (bool, number, string) to a Value; non-scalars give a string of their
/// dump.
Value value_from_json(const nlohmann::json& j);

}  // namespace kaa::modbus
