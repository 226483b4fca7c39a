// Modbus TCP read requests and the checks of their replies.
#include "drivers/modbus/tcp_adu.hpp"

#include <fmt/format.h>

#include "drivers/modbus/libmodbus_transport.hpp"

namespace kaa::modbus {
namespace {

constexpr size_t kMbapLength = kTcpMbapLength;
constexpr size_t kLengthCovers = 6;  // the bytes before the unit id, not counted by length
constexpr uint8_t kExceptionBit = 0x80;

/// True for the function codes that read bits (coils, discrete inputs).
bool is_bit_code(uint8_t function) {
    return function == 1 || function == 2;
}

/// The byte count a reply to `request` must carry.
size_t expected_byte_count(const TcpReadRequest& request) {
    return is_bit_code(request.function) ? (request.count + 7u) / 8u : request.count * 2u;
}

/// A refused reply: kBadResponse with `message`.
TcpReply bad(std::string message, bool framing_lost = false) {
    TcpReply reply;
    reply.values = make_error(ErrorKind::kBadResponse, std::move(message));
    reply.framing_lost = framing_lost;
    return reply;
}

/// The exception reply's verdict: a known code, or an invalid one.
TcpReply exception_reply(uint8_t unit, uint8_t code) {
    TcpReply reply;
    if (code >= 1 && code <= 11) {
        reply.values = make_error(ErrorKind::kModbusException, describe_exception(code), code);
    } else {
        reply.values =
            make_error(ErrorKind::kBadResponse,
                       fmt::format("invalid exception code {} from unit {}", code, unit), code);
    }
    return reply;
}

/// The values of a checked data field: big-endian words, or bits from the low bit up.
std::vector<uint16_t> decode_values(const TcpReadRequest& request, std::span<const uint8_t> data) {
    std::vector<uint16_t> values(request.count);
    for (size_t i = 0; i < values.size(); ++i) {
        values[i] = is_bit_code(request.function)
                        ? static_cast<uint16_t>((data[i / 8] >> (i % 8)) & 1u)
                        : big_endian_word(data, 2 * i);
    }
    return values;
}

}  // namespace

uint8_t function_code(config::RegisterFunction function) {
    switch (function) {
        case config::RegisterFunction::kCoil:
            return 1;
        case config::RegisterFunction::kDiscrete:
            return 2;
        case config::RegisterFunction::kHolding:
            return 3;
        case config::RegisterFunction::kInput:
            return 4;
    }
    return 3;
}

uint16_t max_read_count(uint8_t function) {
    return is_bit_code(function) ? 2000 : 125;
}

std::array<uint8_t, kTcpReadRequestLength> build_read_request(const TcpReadRequest& request) {
    const auto hi = [](uint16_t v) { return static_cast<uint8_t>(v >> 8); };
    const auto lo = [](uint16_t v) { return static_cast<uint8_t>(v & 0xFF); };
    return {hi(request.transaction_id),
            lo(request.transaction_id),
            0,
            0,
            0,
            static_cast<uint8_t>(kTcpReadRequestLength - kLengthCovers),
            request.unit,
            request.function,
            hi(request.address),
            lo(request.address),
            hi(request.count),
            lo(request.count)};
}

std::optional<TcpReply> check_reply_header(uint16_t transaction_id, uint8_t unit_id,
                                           std::span<const uint8_t> adu, size_t trailing) {
    if (adu.size() < kMbapLength + 2)
        return bad(fmt::format("reply of {} bytes is too short for Modbus TCP", adu.size()), true);
    const uint16_t length = big_endian_word(adu, 4);
    const size_t came = adu.size() - kLengthCovers;
    // Checked before anything else is believed: a wrong length is a wrong frame boundary.
    if (length != came) {
        return bad(fmt::format("MBAP length {} but {} bytes came (unit {})", length, came, unit_id),
                   true);
    }
    if (trailing > 0) {
        return bad(
            fmt::format("{} unexpected bytes followed the reply from unit {}", trailing, unit_id),
            true);
    }
    if (const uint16_t protocol = big_endian_word(adu, 2); protocol != 0)
        return bad(fmt::format("protocol id {} in the reply, not 0 (unit {})", protocol, unit_id));
    if (const uint16_t tid = big_endian_word(adu, 0); tid != transaction_id) {
        TcpReply reply = bad(fmt::format("reply with transaction id {}, sent {} (unit {})", tid,
                                         transaction_id, unit_id));
        reply.wrong_id = true;
        return reply;
    }
    if (const uint8_t unit = adu[6]; unit != unit_id) {
        TcpReply reply = bad(fmt::format("reply for unit {}, asked unit {}", unit, unit_id));
        reply.wrong_id = true;
        return reply;
    }
    return std::nullopt;
}

std::optional<TcpReply> check_exception_reply(uint8_t unit_id, uint8_t function,
                                              std::span<const uint8_t> adu) {
    if (adu[7] != (function | kExceptionBit))
        return std::nullopt;
    if (adu.size() != kMbapLength + 2) {
        return bad(
            fmt::format("exception reply of {} bytes from unit {}, not 9", adu.size(), unit_id),
            true);
    }
    return exception_reply(unit_id, adu[8]);
}

TcpReply check_read_reply(const TcpReadRequest& request, std::span<const uint8_t> adu,
                          size_t trailing) {
    if (auto refused = check_reply_header(request.transaction_id, request.unit, adu, trailing))
        return *refused;
    if (auto exception = check_exception_reply(request.unit, request.function, adu))
        return *exception;
    const uint8_t function = adu[7];
    if (function != request.function) {
        return bad(fmt::format("reply with function {}, asked function {} (unit {})", function,
                               request.function, request.unit));
    }
    const size_t byte_count = adu[8];
    const size_t expected = expected_byte_count(request);
    if (byte_count != expected) {
        return bad(fmt::format("reply with {} data bytes, asked {} (unit {})", byte_count, expected,
                               request.unit),
                   true);
    }
    if (adu.size() != kMbapLength + 2 + byte_count) {
        return bad(fmt::format("reply of {} bytes declares {} data bytes (unit {})", adu.size(),
                               byte_count, request.unit),
                   true);
    }
    TcpReply reply;
    reply.values = decode_values(request, adu.subspan(kMbapLength + 2));
    return reply;
}

}  // namespace kaa::modbus
