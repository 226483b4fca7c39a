// Reading figures out of a status document that may be partial or hostile.
#include "daemon/status/document_fields.hpp"

#include <cstdint>
#include <iterator>

#include <fmt/format.h>

#include "core/printable.hpp"
#include "daemon/status/status_render.hpp"

namespace kaa::status {

using nlohmann::json;

/// The member `key` of `j` when it is an integer, else `fallback`.
int64_t int_of(const json& j, const char* key, int64_t fallback) {
    if (!j.is_object())
        return fallback;
    const auto it = j.find(key);
    if (it == j.end() || !it->is_number())
        return fallback;
    return it->is_number_float() ? static_cast<int64_t>(it->get<double>()) : it->get<int64_t>();
}

/// The member `key` of `j` when it is a string (made printable), else "".
std::string text_of(const json& j, const char* key, size_t max_bytes) {
    if (!j.is_object())
        return {};
    const auto it = j.find(key);
    if (it == j.end() || !it->is_string())
        return {};
    return printable(it->get_ref<const std::string&>(), max_bytes);
}

bool bool_of(const json& j, const char* key) {
    if (!j.is_object())
        return false;
    const auto it = j.find(key);
    return it != j.end() && it->is_boolean() && it->get<bool>();
}

const json& member(const json& j, const char* key) {
    static const json kNull;
    if (!j.is_object())
        return kNull;
    const auto it = j.find(key);
    return it == j.end() ? kNull : *it;
}

/// "1.5 KiB", "3.2 MiB".
std::string format_bytes(int64_t bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(bytes);
    size_t u = 0;
    while (v >= 1024 && u + 1 < std::size(units)) {
        v /= 1024;
        ++u;
    }
    return u == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", v, units[u]);
}

/// "ago" text for a wall time, "never" for 0.
std::string ago(int64_t now_ms, int64_t at_ms) {
    if (at_ms <= 0)
        return "never";
    if (at_ms > now_ms)
        return "just now";
    return format_age(now_ms - at_ms) + " ago";
}

/// A value as it is shown: numbers as written, strings quoted and escaped.
std::string value_text(const json& v) {
    if (v.is_string())
        return "\"" + printable(v.get_ref<const std::string&>(), 40) + "\"";
    return v.dump();
}

}  // namespace kaa::status
