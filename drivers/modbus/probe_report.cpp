// The probe's side-by-side decodings of raw registers.
#include "drivers/modbus/probe_report.hpp"

#include <span>

#include <fmt/format.h>

#include "core/printable.hpp"
#include "drivers/modbus/register_codec.hpp"

namespace kaa::modbus {
namespace {

constexpr config::ByteOrder kOrders[] = {config::ByteOrder::kABCD, config::ByteOrder::kCDAB,
                                         config::ByteOrder::kBADC, config::ByteOrder::kDCBA};
constexpr const char* kOrderNames[] = {"ABCD", "CDAB", "BADC", "DCBA"};

/// The words from `first` decoded as `type` in `order`.
Value decode_as(const std::vector<uint16_t>& words, size_t first, config::ValueType type,
                config::ByteOrder order) {
    config::RegisterConfig reg;
    reg.type = type;
    reg.byte_order = order;
    const size_t n = static_cast<size_t>(config::register_count(type, 0));
    return decode_words(reg, std::span<const uint16_t>(words.data() + first, n));
}

}  // namespace

std::string format_value(const Value& value) {
    if (const auto* b = std::get_if<bool>(&value))
        return *b ? "true" : "false";
    if (const auto* i = std::get_if<int64_t>(&value))
        return std::to_string(*i);
    if (const auto* u = std::get_if<uint64_t>(&value))
        return std::to_string(*u);
    if (const auto* d = std::get_if<double>(&value))
        return fmt::format("{}", *d);
    return "\"" + printable(std::get<std::string>(value), 200) + "\"";
}

std::string describe_registers(uint16_t address, const std::vector<uint16_t>& words) {
    std::string out =
        fmt::format("{:>7}  {:>6}  {:>6}  {:>6}\n", "address", "hex", "uint16", "int16");
    for (size_t i = 0; i < words.size(); ++i) {
        out += fmt::format("{:>7}  0x{:04X}  {:>6}  {:>6}\n", address + i, words[i], words[i],
                           static_cast<int16_t>(words[i]));
    }
    if (words.size() >= 2) {
        out +=
            "\n32-bit values at each register pair (ABCD: high word first, big endian; CDAB: "
            "low word first;\nBADC: bytes swapped in each word; DCBA: little endian)\n";
        out += fmt::format("{:>7}  {:<4}  {:>11}  {:>11}  {}\n", "address", "order", "uint32",
                           "int32", "float32");
        for (size_t i = 0; i + 1 < words.size(); ++i) {
            for (size_t o = 0; o < 4; ++o) {
                out += fmt::format(
                    "{:>7}  {:<4}  {:>11}  {:>11}  {}\n", address + i, kOrderNames[o],
                    format_value(decode_as(words, i, config::ValueType::kUint32, kOrders[o])),
                    format_value(decode_as(words, i, config::ValueType::kInt32, kOrders[o])),
                    format_value(decode_as(words, i, config::ValueType::kFloat32, kOrders[o])));
            }
        }
    }
    if (words.size() >= 4) {
        out += "\n64-bit values at each run of four registers (the same orders, per word pair)\n";
        out += fmt::format("{:>7}  {:<4}  {:>20}  {:>20}  {}\n", "address", "order", "uint64",
                           "int64", "float64");
        for (size_t i = 0; i + 3 < words.size(); ++i) {
            for (size_t o = 0; o < 4; ++o) {
                out += fmt::format(
                    "{:>7}  {:<4}  {:>20}  {:>20}  {}\n", address + i, kOrderNames[o],
                    format_value(decode_as(words, i, config::ValueType::kUint64, kOrders[o])),
                    format_value(decode_as(words, i, config::ValueType::kInt64, kOrders[o])),
                    format_value(decode_as(words, i, config::ValueType::kFloat64, kOrders[o])));
            }
        }
    }
    // Printable ASCII as it is, every other byte as \xNN: a meter's string is rarely UTF-8.
    std::string text;
    for (uint16_t w : words) {
        for (const unsigned byte :
             {static_cast<unsigned>(w >> 8), static_cast<unsigned>(w & 0xFF)}) {
            if (byte >= 0x20 && byte < 0x7F && byte != '\\' && byte != '"')
                text.push_back(static_cast<char>(byte));
            else
                text += fmt::format("\\x{:02x}", byte);
        }
    }
    out += "\nas a string (2 characters per register, high byte first): \"" + text + "\"\n";
    return out;
}

std::string describe_bits(uint16_t address, const std::vector<uint16_t>& bits) {
    std::string out = fmt::format("{:>7}  {}\n", "address", "value");
    for (size_t i = 0; i < bits.size(); ++i)
        out += fmt::format("{:>7}  {}\n", address + i, bits[i] != 0 ? 1 : 0);
    return out;
}

}  // namespace kaa::modbus
