// Register words <-> typed values for every configured type and byte order.
#include "drivers/modbus/register_codec.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <system_error>

#include "core/utf8.hpp"

namespace kaa::modbus {
namespace {

using config::ByteOrder;
using config::RegisterConfig;
using config::ValueType;

/// True when the byte order stores the least significant register first.
bool words_reversed(ByteOrder order) {
    return order == ByteOrder::kCDAB || order == ByteOrder::kDCBA;
}

/// True when the byte order stores each register's low byte first.
bool bytes_swapped(ByteOrder order) {
    return order == ByteOrder::kBADC || order == ByteOrder::kDCBA;
}

/// Exchanges the two bytes of a register.
uint16_t swap_bytes(uint16_t w) {
    return static_cast<uint16_t>((w << 8) | (w >> 8));
}

/// Copies exactly `count` words, padding with zeros when fewer were given.
std::vector<uint16_t> take_words(std::span<const uint16_t> words, size_t count) {
    std::vector<uint16_t> out(count, 0);
    std::copy_n(words.begin(), std::min(count, words.size()), out.begin());
    return out;
}

/// Reorders words between the wire layout and most-significant-first big-endian
/// layout. The transformation is its own inverse, so it serves decode and encode.
void reorder(std::vector<uint16_t>& words, ByteOrder order) {
    if (words_reversed(order)) {
        std::reverse(words.begin(), words.end());
    }
    if (bytes_swapped(order)) {
        for (uint16_t& w : words) {
            w = swap_bytes(w);
        }
    }
}

/// Combines `count` registers into one unsigned integer, most significant first.
uint64_t read_bits(std::span<const uint16_t> words, size_t count, ByteOrder order) {
    std::vector<uint16_t> w = take_words(words, count);
    reorder(w, order);
    uint64_t bits = 0;
    for (uint16_t word : w) {
        bits = (bits << 16) | word;
    }
    return bits;
}

/// Splits an unsigned integer into `count` registers laid out in the byte order.
std::vector<uint16_t> write_bits(uint64_t bits, size_t count, ByteOrder order) {
    std::vector<uint16_t> w(count, 0);
    for (size_t i = count; i-- > 0;) {
        w[i] = static_cast<uint16_t>(bits & 0xFFFFu);
        bits >>= 16;
    }
    reorder(w, order);
    return w;
}

/// The double nearest the shortest decimal that round-trips the float.
double float_to_shortest_double(float f) {
    if (!std::isfinite(f)) {
        return static_cast<double>(f);
    }
    std::array<char, 64> buf{};
    auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), f);
    if (ec != std::errc()) {
        return static_cast<double>(f);
    }
    double d = 0.0;
    auto res = std::from_chars(buf.data(), end, d);
    if (res.ec != std::errc()) {
        return static_cast<double>(f);
    }
    return d;
}

/// Rounds a finite double to 15 significant decimal digits.
double round15(double d) {
    if (!std::isfinite(d)) {
        return d;
    }
    std::array<char, 64> buf{};
    std::snprintf(buf.data(), buf.size(), "%.15g", d);
    return std::strtod(buf.data(), nullptr);
}

/// Interprets text as a number: an integer when it is one, else a double, else 0.
Value parse_number(const std::string& text) {
    if (text == "true") {
        return true;
    }
    if (text == "false") {
        return false;
    }
    const char* first = text.data();
    const char* last = text.data() + text.size();
    int64_t i = 0;
    if (auto r = std::from_chars(first, last, i); r.ec == std::errc() && r.ptr == last) {
        return i;
    }
    uint64_t u = 0;
    if (auto r = std::from_chars(first, last, u); r.ec == std::errc() && r.ptr == last) {
        return u;
    }
    double d = 0.0;
    if (auto r = std::from_chars(first, last, d); r.ec == std::errc() && r.ptr == last) {
        return d;
    }
    return int64_t{0};
}

/// Converts a value to a signed integer in [lo, hi], truncating toward zero and saturating.
int64_t to_signed(const Value& value, int64_t lo, int64_t hi) {
    if (const auto* b = std::get_if<bool>(&value)) {
        return *b ? 1 : 0;
    }
    if (const auto* i = std::get_if<int64_t>(&value)) {
        return std::clamp(*i, lo, hi);
    }
    if (const auto* u = std::get_if<uint64_t>(&value)) {
        return *u > static_cast<uint64_t>(hi) ? hi : static_cast<int64_t>(*u);
    }
    if (const auto* d = std::get_if<double>(&value)) {
        if (std::isnan(*d)) {
            return 0;
        }
        // lo is -2^(n-1), exact as a double; hi + 1 is its negation.
        const double limit = -static_cast<double>(lo);
        if (*d >= limit) {
            return hi;
        }
        if (*d <= -limit) {
            return lo;
        }
        return static_cast<int64_t>(std::trunc(*d));
    }
    return to_signed(parse_number(std::get<std::string>(value)), lo, hi);
}

/// Converts a value to an unsigned integer in [0, hi] (hi = 2^bits - 1), truncating
/// toward zero and saturating.
uint64_t to_unsigned(const Value& value, uint64_t hi, int bits) {
    if (const auto* b = std::get_if<bool>(&value)) {
        return *b ? 1 : 0;
    }
    if (const auto* i = std::get_if<int64_t>(&value)) {
        return *i < 0 ? 0 : std::min(static_cast<uint64_t>(*i), hi);
    }
    if (const auto* u = std::get_if<uint64_t>(&value)) {
        return std::min(*u, hi);
    }
    if (const auto* d = std::get_if<double>(&value)) {
        if (std::isnan(*d) || *d <= 0.0) {
            return 0;
        }
        if (*d >= std::ldexp(1.0, bits)) {
            return hi;
        }
        return static_cast<uint64_t>(std::trunc(*d));
    }
    return to_unsigned(parse_number(std::get<std::string>(value)), hi, bits);
}

/// Converts a value to the signed integer type T (returned widened to 64 bits).
template <typename T>
int64_t signed_range(const Value& value) {
    return to_signed(value, std::numeric_limits<T>::min(), std::numeric_limits<T>::max());
}

/// Converts a value to the unsigned integer type T (returned widened to 64 bits).
template <typename T>
uint64_t unsigned_range(const Value& value) {
    return to_unsigned(value, std::numeric_limits<T>::max(), std::numeric_limits<T>::digits);
}

/// Converts a value to a double.
double to_double(const Value& value) {
    if (const auto* b = std::get_if<bool>(&value)) {
        return *b ? 1.0 : 0.0;
    }
    if (const auto* i = std::get_if<int64_t>(&value)) {
        return static_cast<double>(*i);
    }
    if (const auto* u = std::get_if<uint64_t>(&value)) {
        return static_cast<double>(*u);
    }
    if (const auto* d = std::get_if<double>(&value)) {
        return *d;
    }
    return to_double(parse_number(std::get<std::string>(value)));
}

/// Narrows a double to float with IEEE round-to-nearest, including past the float range
/// (a plain cast of an out-of-range value is undefined behaviour).
float to_float(double d) {
    constexpr double kMax = std::numeric_limits<float>::max();  // 2^128 - 2^104
    constexpr double kOverflow = kMax + 0x1p103;                // halfway to 2^128
    if (std::isfinite(d) && std::fabs(d) > kMax) {
        const float mag = std::fabs(d) >= kOverflow ? std::numeric_limits<float>::infinity()
                                                    : std::numeric_limits<float>::max();
        return d > 0 ? mag : -mag;
    }
    return static_cast<float>(d);
}

/// Converts a value to a truth value: non-zero numbers and "true" are true.
bool to_bool(const Value& value) {
    if (const auto* b = std::get_if<bool>(&value)) {
        return *b;
    }
    if (const auto* i = std::get_if<int64_t>(&value)) {
        return *i != 0;
    }
    if (const auto* u = std::get_if<uint64_t>(&value)) {
        return *u != 0;
    }
    if (const auto* d = std::get_if<double>(&value)) {
        return *d != 0.0 && !std::isnan(*d);
    }
    return to_bool(parse_number(std::get<std::string>(value)));
}

/// The text a value is written as into a string register.
std::string to_text(const Value& value) {
    if (const auto* s = std::get_if<std::string>(&value)) {
        return *s;
    }
    if (const auto* b = std::get_if<bool>(&value)) {
        return *b ? "true" : "false";
    }
    if (const auto* i = std::get_if<int64_t>(&value)) {
        return std::to_string(*i);
    }
    if (const auto* u = std::get_if<uint64_t>(&value)) {
        return std::to_string(*u);
    }
    return nlohmann::json(std::get<double>(value)).dump();
}

/// Decodes 2 characters per register; stops at the first NUL, trims trailing spaces.
/// Bytes that are not UTF-8 (0xFF from a register never written, Latin-1 text) become
/// U+FFFD: the value goes into JSON, which carries only UTF-8.
std::string decode_string(std::span<const uint16_t> words, size_t count, ByteOrder order) {
    const std::vector<uint16_t> w = take_words(words, count);
    const bool low_first = bytes_swapped(order);
    std::string out;
    out.reserve(count * 2);
    for (uint16_t word : w) {
        const char hi = static_cast<char>(word >> 8);
        const char lo = static_cast<char>(word & 0xFFu);
        const char first = low_first ? lo : hi;
        const char second = low_first ? hi : lo;
        if (first == '\0') {
            break;
        }
        out.push_back(first);
        if (second == '\0') {
            break;
        }
        out.push_back(second);
    }
    while (!out.empty() && (out.back() == ' ' || out.back() == '\0')) {
        out.pop_back();
    }
    return to_utf8(out);
}

/// Encodes text into `count` registers, 2 characters each, NUL padded, truncated if longer.
std::vector<uint16_t> encode_string(const std::string& text, size_t count, ByteOrder order) {
    const bool low_first = bytes_swapped(order);
    std::vector<uint16_t> out(count, 0);
    for (size_t i = 0; i < count; ++i) {
        const auto at = [&](size_t k) -> uint16_t {
            return k < text.size() ? static_cast<unsigned char>(text[k]) : 0;
        };
        const uint16_t first = at(2 * i);
        const uint16_t second = at(2 * i + 1);
        out[i] = low_first ? static_cast<uint16_t>((second << 8) | first)
                           : static_cast<uint16_t>((first << 8) | second);
    }
    return out;
}

}  // namespace

Value decode_words(const RegisterConfig& reg, std::span<const uint16_t> words) {
    const ByteOrder order = reg.byte_order;
    switch (reg.type) {
        case ValueType::kBool:
            return read_bits(words, 1, order) != 0;
        case ValueType::kInt16:
            return int64_t{static_cast<int16_t>(read_bits(words, 1, order))};
        case ValueType::kUint16:
            return read_bits(words, 1, order);
        case ValueType::kInt32:
            return int64_t{static_cast<int32_t>(read_bits(words, 2, order))};
        case ValueType::kUint32:
            return read_bits(words, 2, order);
        case ValueType::kInt64:
            return static_cast<int64_t>(read_bits(words, 4, order));
        case ValueType::kUint64:
            return read_bits(words, 4, order);
        case ValueType::kFloat32: {
            const auto bits = static_cast<uint32_t>(read_bits(words, 2, order));
            return float_to_shortest_double(std::bit_cast<float>(bits));
        }
        case ValueType::kFloat64:
            return std::bit_cast<double>(read_bits(words, 4, order));
        case ValueType::kString:
            return decode_string(words, static_cast<size_t>(std::max(0, reg.length)), order);
    }
    return int64_t{0};
}

Value decode_bit(uint8_t bit) {
    return bit != 0;
}

Value apply_scale(const Value& raw, double scale, double offset) {
    if (scale == 1.0 && offset == 0.0) {
        return raw;
    }
    if (std::holds_alternative<bool>(raw) || std::holds_alternative<std::string>(raw)) {
        return raw;
    }
    return round15(to_double(raw) * scale + offset);
}

std::vector<uint16_t> encode_words(const RegisterConfig& reg, const Value& value) {
    const ByteOrder order = reg.byte_order;
    switch (reg.type) {
        case ValueType::kBool:
            return write_bits(to_bool(value) ? 1 : 0, 1, order);
        case ValueType::kInt16:
            return write_bits(static_cast<uint16_t>(signed_range<int16_t>(value)), 1, order);
        case ValueType::kUint16:
            return write_bits(unsigned_range<uint16_t>(value), 1, order);
        case ValueType::kInt32:
            return write_bits(static_cast<uint32_t>(signed_range<int32_t>(value)), 2, order);
        case ValueType::kUint32:
            return write_bits(unsigned_range<uint32_t>(value), 2, order);
        case ValueType::kInt64:
            return write_bits(static_cast<uint64_t>(signed_range<int64_t>(value)), 4, order);
        case ValueType::kUint64:
            return write_bits(unsigned_range<uint64_t>(value), 4, order);
        case ValueType::kFloat32: {
            const float f = to_float(to_double(value));
            return write_bits(std::bit_cast<uint32_t>(f), 2, order);
        }
        case ValueType::kFloat64:
            return write_bits(std::bit_cast<uint64_t>(to_double(value)), 4, order);
        case ValueType::kString:
            return encode_string(to_text(value), static_cast<size_t>(std::max(0, reg.length)),
                                 order);
    }
    return {};
}

bool put_json(nlohmann::ordered_json& object, const std::string& name, const Value& value) {
    if (const auto* d = std::get_if<double>(&value)) {
        if (!std::isfinite(*d)) {
            return false;
        }
        object[name] = *d;
        return true;
    }
    std::visit([&](const auto& v) { object[name] = v; }, value);
    return true;
}

Value value_from_json(const nlohmann::json& j) {
    if (j.is_boolean()) {
        return j.get<bool>();
    }
    if (j.is_number_unsigned()) {
        const auto u = j.get<uint64_t>();
        if (u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
            return static_cast<int64_t>(u);
        }
        return u;
    }
    if (j.is_number_integer()) {
        return j.get<int64_t>();
    }
    if (j.is_number_float()) {
        return j.get<double>();
    }
    if (j.is_string()) {
        return j.get<std::string>();
    }
    return j.dump();
}

}  // namespace kaa::modbus
