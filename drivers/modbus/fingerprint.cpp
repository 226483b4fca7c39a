// Matching a meter's answers against a profile's fingerprint checks.
#include "drivers/modbus/fingerprint.hpp"

#include <span>

#include "drivers/modbus/register_codec.hpp"

namespace kaa::modbus {
namespace {

/// A decoded value as JSON, so it compares with the check's one_of values across integer,
/// unsigned and floating-point numbers.
nlohmann::json json_of(const Value& value) {
    return std::visit([](const auto& v) { return nlohmann::json(v); }, value);
}

/// The value as a number, or nothing for bool and string.
std::optional<double> number_of(const Value& value) {
    if (const auto* i = std::get_if<int64_t>(&value))
        return static_cast<double>(*i);
    if (const auto* u = std::get_if<uint64_t>(&value))
        return static_cast<double>(*u);
    if (const auto* d = std::get_if<double>(&value))
        return *d;
    return std::nullopt;
}

/// Text without trailing spaces and NULs (as the codec trims a meter's strings).
std::string trimmed(std::string text) {
    while (!text.empty() && (text.back() == ' ' || text.back() == '\0'))
        text.pop_back();
    return text;
}

}  // namespace

PlannedRead fingerprint_read(const config::FingerprintCheck& check) {
    PlannedRead read;
    read.function = check.reg.function;
    read.address = check.reg.address;
    read.count =
        config::is_bit_function(check.reg.function)
            ? 1
            : static_cast<uint16_t>(config::register_count(check.reg.type, check.reg.length));
    read.slots.push_back(PlannedSlot{0, 0, read.count});
    return read;
}

bool fingerprint_holds(const config::FingerprintCheck& check,
                       const Result<std::vector<uint16_t>>& answer) {
    if (!answer.ok())
        return false;
    if (check.test == config::FingerprintTest::kReadable)
        return true;
    const std::vector<uint16_t>& words = answer.value();
    if (words.size() != fingerprint_read(check).count)
        return false;
    const Value value = config::is_bit_function(check.reg.function)
                            ? decode_bit(static_cast<uint8_t>(words[0]))
                            : decode_words(check.reg, std::span<const uint16_t>(words));
    if (check.test == config::FingerprintTest::kRange) {
        const auto number = number_of(value);
        return number && (!check.min || *number >= *check.min) &&
               (!check.max || *number <= *check.max);
    }
    const nlohmann::json got = json_of(value);
    for (const nlohmann::json& want : check.one_of) {
        if (want.is_string() && got.is_string()
                ? trimmed(want.get<std::string>()) == got.get<std::string>()
                : want == got)
            return true;
    }
    return false;
}

}  // namespace kaa::modbus
