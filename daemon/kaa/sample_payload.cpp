// Buffer record + read time -> Kaa's sample JSON. Records without a null are spliced as they
// are (the drain's hot path); the rare record with a missing value is rebuilt without it.
#include "daemon/kaa/sample_payload.hpp"

#include <ctime>

#include <charconv>

#include <nlohmann/json.hpp>

namespace kaa::uplink {
namespace {

void append_body(std::string& out, std::string_view object) {
    // object is "{...}": its members go after the timestamp member.
    if (object.size() > 2) {
        out.push_back(',');
        out.append(object.substr(1, object.size() - 2));
    }
}

void append_int(std::string& out, int64_t v, int min_digits = 1) {
    char digits[24];
    auto end = std::to_chars(digits, digits + sizeof digits, v).ptr;
    for (int pad = min_digits - static_cast<int>(end - digits); pad > 0; --pad)
        out.push_back('0');
    out.append(digits, end);
}

/// The longest a read time is written: "\"2199-12-31T23:59:59.999Z\"".
constexpr size_t kMaxTimeText = 26;

}  // namespace

void append_read_time(std::string& out, int64_t read_ms, config::TimestampFormat format) {
    switch (format) {
        case config::TimestampFormat::kMillis:
            append_int(out, read_ms);
            return;
        case config::TimestampFormat::kSeconds:
            append_int(out, read_ms / 1000);
            out.push_back('.');
            append_int(out, read_ms % 1000, 3);
            return;
        case config::TimestampFormat::kIso8601: {
            const std::time_t seconds = static_cast<std::time_t>(read_ms / 1000);
            std::tm utc{};
            gmtime_r(&seconds, &utc);
            char text[40];
            const size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
            out.push_back('"');
            out.append(text, n);
            out.push_back('.');
            append_int(out, read_ms % 1000, 3);
            out.append("Z\"");
            return;
        }
    }
}

bool append_sample_json(std::string& out, int64_t read_ms, std::string_view record,
                        const config::TimestampField& field) {
    if (!read_time_in_range(read_ms))
        return false;
    out.append("{\"");
    out.append(field.key);
    out.append("\":");
    append_read_time(out, read_ms, field.format);
    if (record.find(":null") == std::string_view::npos) {
        append_body(out, record);
    } else {
        auto object = nlohmann::ordered_json::parse(record, nullptr, false);
        if (object.is_object()) {
            nlohmann::ordered_json kept = nlohmann::ordered_json::object();
            for (auto& [key, value] : object.items()) {
                if (!value.is_null())
                    kept[key] = std::move(value);
            }
            append_body(out, kept.dump());
        }
    }
    out.push_back('}');
    return true;
}

size_t sample_json_bound(std::string_view record, const config::TimestampField& field) {
    return 5 + field.key.size() + kMaxTimeText + record.size();
}

}  // namespace kaa::uplink
