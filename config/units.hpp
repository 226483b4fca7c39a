#pragma once
// Parsing and formatting of the value syntaxes the configuration uses: durations with a
// unit ("500ms", "1.5s", "5min"), sizes with a unit ("64KiB", "1MB"), decimal or
// hexadecimal integers ("0x10") and plain decimal numbers. Durations are formatted by
// format_duration in config.hpp.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"

namespace kaa::config {

/// Parses a duration: a non-negative decimal number followed by ms, s, min or h ("1.5s").
/// Bare numbers, other units and values that are not a whole number of milliseconds fail.
std::optional<Millis> parse_duration(std::string_view text);

/// Parses a size: a non-negative decimal number followed by B, KiB, MiB, GiB, TiB (1024-based)
/// or KB, MB, GB, TB (1000-based). Bare numbers and fractions of a byte fail.
std::optional<uint64_t> parse_size(std::string_view text);

/// Parses an integer: optional sign, then decimal digits or 0x and hexadecimal digits.
std::optional<int64_t> parse_integer(std::string_view text);

/// Parses a non-negative integer up to 2^64-1: decimal digits or 0x and hexadecimal digits.
std::optional<uint64_t> parse_unsigned(std::string_view text);

/// Parses a finite decimal number ("1", "-0.5", "2.5e3"); rejects inf, nan and hex floats.
std::optional<double> parse_number(std::string_view text);

/// Formats a size with the largest binary unit that divides it exactly ("1MiB", "500B").
std::string format_size(uint64_t bytes);

}  // namespace kaa::config
