// Buffer record + read time -> Kaa's sample JSON. Records without a null are spliced as they
// are (the drain's hot path); the rare record with a missing value is rebuilt without it.
#include "daemon/kaa/sample_payload.hpp"

#include <charconv>

#include <nlohmann/json.hpp>

namespace kaa::uplink {
namespace {

constexpr std::string_view kTimestampKey = "{\"timestamp\":";

void append_body(std::string& out, std::string_view object) {
    // object is "{...}": its members go after the timestamp member.
    if (object.size() > 2) {
        out.push_back(',');
        out.append(object.substr(1, object.size() - 2));
    }
}

}  // namespace

void append_sample_json(std::string& out, int64_t read_ms, std::string_view record) {
    out.append(kTimestampKey);
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, read_ms).ptr;
    out.append(digits, end);
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
}

size_t sample_json_bound(std::string_view record) {
    return kTimestampKey.size() + 21 + record.size() + 1;
}

}  // namespace kaa::uplink
