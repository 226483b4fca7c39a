#pragma once
// Reading figures out of a status document (status_render.hpp's schema) that may be partial
// or hostile: a missing or mistyped member gives a neutral value, never an exception; text
// comes out printable (core/printable.hpp). Shared by the terminal, Prometheus and HTML
// renderings and by the gateway endpoint's health samples.

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace kaa::status {

/// The member `key` of `j` when it is a number (a float truncated), else `fallback`.
int64_t int_of(const nlohmann::json& j, const char* key, int64_t fallback = 0);
/// The member `key` of `j` when it is a string (made printable, at most `max_bytes`),
/// else "".
std::string text_of(const nlohmann::json& j, const char* key, size_t max_bytes = 200);
/// The member `key` of `j` when it is a boolean, else false.
bool bool_of(const nlohmann::json& j, const char* key);
/// The member `key` of `j`, or null.
const nlohmann::json& member(const nlohmann::json& j, const char* key);
/// "1.5 KiB", "3.2 MiB".
std::string format_bytes(int64_t bytes);
/// "5m 0s ago" for a wall time, "never" for 0, "just now" for one ahead of now.
std::string ago(int64_t now_ms, int64_t at_ms);
/// A value as it is shown: numbers as written, strings quoted and escaped (40 bytes).
std::string value_text(const nlohmann::json& v);

}  // namespace kaa::status
