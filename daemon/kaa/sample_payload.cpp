// Buffer record + read time -> Kaa's sample JSON. Records without a null are spliced as they
// are (the drain's hot path); the rare record with a missing value is rebuilt without it.
#include "daemon/kaa/sample_payload.hpp"

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

/// A day of the proleptic Gregorian calendar.
struct CivilDate {
    int64_t year;
    int64_t month;  // 1..12
    int64_t day;    // 1..31
};

/// The date `days` after 1970-01-01 (days >= 0). Computed here rather than with gmtime:
/// 32-bit Raspberry Pi OS has a 32-bit time_t, which ends in 2038.
CivilDate civil_from_days(int64_t days) {
    // Count from 0000-03-01 in 400-year eras of 146097 days, so leap days end each year.
    const int64_t z = days + 719468;
    const int64_t era = z / 146097;
    const int64_t day_of_era = z - era * 146097;
    const int64_t year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
    const int64_t day_of_year =
        day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    const int64_t month_from_march = (5 * day_of_year + 2) / 153;
    const int64_t day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    const int64_t month = month_from_march < 10 ? month_from_march + 3 : month_from_march - 9;
    return CivilDate{year_of_era + era * 400 + (month <= 2 ? 1 : 0), month, day};
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
            const int64_t seconds = read_ms / 1000;
            const CivilDate date = civil_from_days(seconds / 86400);
            const int64_t in_day = seconds % 86400;
            out.push_back('"');
            append_int(out, date.year, 4);
            out.push_back('-');
            append_int(out, date.month, 2);
            out.push_back('-');
            append_int(out, date.day, 2);
            out.push_back('T');
            append_int(out, in_day / 3600, 2);
            out.push_back(':');
            append_int(out, in_day / 60 % 60, 2);
            out.push_back(':');
            append_int(out, in_day % 60, 2);
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
