#pragma once
// printable(): outside text (a platform message, a config value, a meter's string) made
// safe to echo in a log line or an error message: bounded, one line, control bytes escaped.

#include <cstddef>
#include <string>
#include <string_view>

namespace kaa {

/// `text` with control characters, backslashes and DEL escaped (\n, \t, \xNN) and, past
/// `max_bytes`, cut with a note of its whole length: "abc... (10485760 bytes)".
std::string printable(std::string_view text, size_t max_bytes = 200);

}  // namespace kaa
