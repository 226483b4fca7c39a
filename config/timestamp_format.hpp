#pragma once
// How a sample carries its read time for Kaa's time series (EPTS auto-extraction): which
// field, and in which of the formats EPTS can be set to read.

#include <optional>
#include <string>
#include <string_view>

namespace kaa::config {

/// The formats EPTS's timestamp auto-extraction understands.
enum class TimestampFormat {
    kMillis,   // integer milliseconds since the Unix epoch (EPTS: millis-unix-epoch)
    kSeconds,  // seconds since the Unix epoch with a fraction (EPTS: seconds-unix-epoch)
    kIso8601,  // "2026-12-01T10:57:15.123Z": UTC, milliseconds, Z (EPTS: ISO 8601)
};

/// The kaa.timestamp section: the sample field with the read time, and its format.
struct TimestampField {
    std::string key = "timestamp";
    TimestampFormat format = TimestampFormat::kMillis;
};

/// The configuration word of a format: millis, seconds or iso8601.
const char* to_string(TimestampFormat format);
/// The format a configuration word names; nullopt for anything else.
std::optional<TimestampFormat> parse_timestamp_format(std::string_view word);
/// The name Kaa's EPTS settings form gives the format (for the set-up hint).
const char* epts_format_name(TimestampFormat format);

/// The EPTS time-series auto-extraction settings that match `field`, in one line.
std::string epts_setting_line(const TimestampField& field);

}  // namespace kaa::config
