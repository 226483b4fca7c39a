// Timestamp format names, as the configuration and Kaa's EPTS settings spell them.
#include "config/timestamp_format.hpp"

namespace kaa::config {

const char* to_string(TimestampFormat format) {
    switch (format) {
        case TimestampFormat::kMillis:
            return "millis";
        case TimestampFormat::kSeconds:
            return "seconds";
        case TimestampFormat::kIso8601:
            return "iso8601";
    }
    return "millis";
}

std::optional<TimestampFormat> parse_timestamp_format(std::string_view word) {
    for (auto f : {TimestampFormat::kMillis, TimestampFormat::kSeconds, TimestampFormat::kIso8601})
        if (word == to_string(f))
            return f;
    return std::nullopt;
}

const char* epts_format_name(TimestampFormat format) {
    switch (format) {
        case TimestampFormat::kMillis:
            return "millis-unix-epoch";
        case TimestampFormat::kSeconds:
            return "seconds-unix-epoch";
        case TimestampFormat::kIso8601:
            return "iso8601";
    }
    return "millis-unix-epoch";
}

std::string epts_setting_line(const TimestampField& field) {
    return std::string("EPTS auto-extraction: timestamp path \"") + field.key + "\", format " +
           epts_format_name(field.format) +
           ", fallback: server receipt time (used only for a sample without the field)";
}

}  // namespace kaa::config
