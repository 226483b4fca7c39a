// Durations, sizes and numbers as written in the configuration files.
#include "config/units.hpp"

#include <charconv>
#include <cmath>
#include <limits>
#include <numeric>

namespace kaa::config {

namespace {

/// An ASCII decimal digit.
bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

/// A non-negative decimal "123" or "1.25" scaled by factor, only when the result is whole.
std::optional<uint64_t> scale_decimal(std::string_view number, uint64_t factor) {
    uint64_t mantissa = 0;
    uint64_t divisor = 1;
    bool seen_point = false;
    bool seen_digit = false;
    for (char c : number) {
        if (c == '.' && !seen_point) {
            seen_point = true;
            continue;
        }
        if (!is_digit(c)) {
            return std::nullopt;
        }
        seen_digit = true;
        if (__builtin_mul_overflow(mantissa, 10u, &mantissa) ||
            __builtin_add_overflow(mantissa, static_cast<uint64_t>(c - '0'), &mantissa)) {
            return std::nullopt;
        }
        if (seen_point && __builtin_mul_overflow(divisor, 10u, &divisor)) {
            return std::nullopt;
        }
    }
    if (!seen_digit || number.front() == '.' || number.back() == '.') {
        return std::nullopt;
    }
    // mantissa / divisor * factor must be whole: reduce by the common divisor first.
    uint64_t gcd = std::gcd(mantissa, divisor);
    uint64_t reduced_mantissa = mantissa / gcd;
    uint64_t reduced_divisor = divisor / gcd;
    if (factor % reduced_divisor != 0) {
        return std::nullopt;
    }
    uint64_t result = 0;
    if (__builtin_mul_overflow(reduced_mantissa, factor / reduced_divisor, &result)) {
        return std::nullopt;
    }
    return result;
}

/// Splits "10s" into "10" and "s" at the first letter.
std::pair<std::string_view, std::string_view> split_unit(std::string_view text) {
    size_t i = 0;
    while (i < text.size() && (is_digit(text[i]) || text[i] == '.')) {
        ++i;
    }
    return {text.substr(0, i), text.substr(i)};
}

struct Unit {
    std::string_view name;
    uint64_t factor;
};

constexpr Unit kDurationUnits[] = {{"ms", 1}, {"s", 1000}, {"min", 60'000}, {"h", 3'600'000}};

constexpr uint64_t kKi = 1024;
constexpr Unit kSizeUnits[] = {{"B", 1},
                               {"KiB", kKi},
                               {"MiB", kKi* kKi},
                               {"GiB", kKi* kKi* kKi},
                               {"TiB", kKi* kKi* kKi* kKi},
                               {"KB", 1000},
                               {"kB", 1000},
                               {"MB", 1'000'000},
                               {"GB", 1'000'000'000},
                               {"TB", 1'000'000'000'000}};

/// A decimal number followed by one of the units, in the units' base (ms, bytes).
template <size_t N>
std::optional<uint64_t> parse_with_units(std::string_view text, const Unit (&units)[N]) {
    auto [number, unit] = split_unit(text);
    if (number.empty()) {
        return std::nullopt;
    }
    for (const Unit& u : units) {
        if (u.name == unit) {
            return scale_decimal(number, u.factor);
        }
    }
    return std::nullopt;
}

}  // namespace

std::optional<Millis> parse_duration(std::string_view text) {
    auto ms = parse_with_units(text, kDurationUnits);
    if (!ms || *ms > static_cast<uint64_t>(std::numeric_limits<Millis::rep>::max())) {
        return std::nullopt;
    }
    return Millis{static_cast<Millis::rep>(*ms)};
}

std::optional<uint64_t> parse_size(std::string_view text) {
    return parse_with_units(text, kSizeUnits);
}

std::optional<uint64_t> parse_unsigned(std::string_view text) {
    if (!text.empty() && text.front() == '+') {
        text.remove_prefix(1);
    }
    int base = 10;
    if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        base = 16;
        text.remove_prefix(2);
    }
    if (text.empty() || text.front() == '+' || text.front() == '-') {
        return std::nullopt;
    }
    uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
    if (ec != std::errc() || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return value;
}

std::optional<int64_t> parse_integer(std::string_view text) {
    bool negative = !text.empty() && text.front() == '-';
    if (negative) {
        text.remove_prefix(1);
    } else if (!text.empty() && text.front() == '+') {
        text.remove_prefix(1);
    }
    if (!text.empty() && text.front() == '+') {
        return std::nullopt;
    }
    auto magnitude = parse_unsigned(text);
    if (!magnitude) {
        return std::nullopt;
    }
    constexpr uint64_t kMaxPositive = std::numeric_limits<int64_t>::max();
    if (negative) {
        if (*magnitude > kMaxPositive + 1) {
            return std::nullopt;
        }
        return *magnitude == kMaxPositive + 1 ? std::numeric_limits<int64_t>::min()
                                              : -static_cast<int64_t>(*magnitude);
    }
    if (*magnitude > kMaxPositive) {
        return std::nullopt;
    }
    return static_cast<int64_t>(*magnitude);
}

std::optional<double> parse_number(std::string_view text) {
    if (!text.empty() && text.front() == '+') {
        text.remove_prefix(1);
    }
    // Only the characters of a decimal number: this keeps out inf, nan and hex floats.
    bool has_digit = false;
    for (char c : text) {
        if (is_digit(c)) {
            has_digit = true;
        } else if (c != '-' && c != '.' && c != 'e' && c != 'E' && c != '+') {
            return std::nullopt;
        }
    }
    if (!has_digit) {
        return std::nullopt;
    }
    double value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
        return std::nullopt;
    }
    return value;
}

std::string format_size(uint64_t bytes) {
    constexpr Unit kBinary[] = {
        {"TiB", kKi * kKi * kKi * kKi}, {"GiB", kKi * kKi * kKi}, {"MiB", kKi * kKi}, {"KiB", kKi}};
    for (const Unit& u : kBinary) {
        if (bytes != 0 && bytes % u.factor == 0) {
            return std::to_string(bytes / u.factor) + std::string(u.name);
        }
    }
    return std::to_string(bytes) + "B";
}

}  // namespace kaa::config
