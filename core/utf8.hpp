#pragma once
// UTF-8 checks for outside text that ends up in JSON (a meter's string registers, metadata
// written in the configuration): nlohmann::json::dump() throws on bytes that are not UTF-8.

#include <string>
#include <string_view>

namespace kaa {

/// True when `text` is well-formed UTF-8 (RFC 3629: shortest forms, no surrogates, at most
/// U+10FFFF).
bool is_utf8(std::string_view text);

/// `text` with each byte that does not belong to a well-formed UTF-8 sequence replaced by
/// U+FFFD (the replacement character); well-formed text comes back unchanged.
std::string to_utf8(std::string_view text);

}  // namespace kaa
