// Modbus TCP write requests and the checks of their replies.
#include "drivers/modbus/tcp_write_adu.hpp"

#include <fmt/format.h>

namespace kaa::modbus {
namespace {

constexpr size_t kEchoLength = kTcpMbapLength + 5;  // function, address, value or count

void put16(std::vector<uint8_t>& out, uint16_t v) {
    out.push_back(static_cast<uint8_t>(v >> 8));
    out.push_back(static_cast<uint8_t>(v & 0xFF));
}

/// The word a single write carries: the register, or 0xFF00/0x0000 for a coil.
uint16_t single_value(const TcpWriteRequest& request) {
    const uint16_t v = request.values.empty() ? 0 : request.values[0];
    return request.function == 5 ? (v != 0 ? 0xFF00 : 0x0000) : v;
}

TcpReply refused_write(std::string message, bool framing_lost = false) {
    TcpReply reply;
    reply.values = make_error(ErrorKind::kBadResponse, std::move(message));
    reply.framing_lost = framing_lost;
    return reply;
}

}  // namespace

uint8_t write_function_code(config::RegisterFunction table, size_t values, bool multiple) {
    const bool coil = table == config::RegisterFunction::kCoil;
    if (values == 1 && !multiple)
        return coil ? 5 : 6;
    return coil ? 15 : 16;
}

uint16_t max_write_count(uint8_t function) {
    switch (function) {
        case 15:
            return 1968;
        case 16:
            return 123;
        default:
            return 1;
    }
}

std::vector<uint8_t> build_write_request(const TcpWriteRequest& request) {
    std::vector<uint8_t> pdu{request.function};
    put16(pdu, request.address);
    if (request.function == 5 || request.function == 6) {
        put16(pdu, single_value(request));
    } else if (request.function == 15) {
        put16(pdu, static_cast<uint16_t>(request.values.size()));
        std::vector<uint8_t> bits((request.values.size() + 7) / 8, 0);
        for (size_t i = 0; i < request.values.size(); ++i) {
            if (request.values[i] != 0)
                bits[i / 8] = static_cast<uint8_t>(bits[i / 8] | (1u << (i % 8)));
        }
        pdu.push_back(static_cast<uint8_t>(bits.size()));
        pdu.insert(pdu.end(), bits.begin(), bits.end());
    } else {
        put16(pdu, static_cast<uint16_t>(request.values.size()));
        pdu.push_back(static_cast<uint8_t>(2 * request.values.size()));
        for (uint16_t v : request.values)
            put16(pdu, v);
    }
    std::vector<uint8_t> adu;
    put16(adu, request.transaction_id);
    put16(adu, 0);
    put16(adu, static_cast<uint16_t>(pdu.size() + 1));
    adu.push_back(request.unit);
    adu.insert(adu.end(), pdu.begin(), pdu.end());
    return adu;
}

TcpReply check_write_reply(const TcpWriteRequest& request, std::span<const uint8_t> adu,
                           size_t trailing) {
    if (auto bad = check_reply_header(request.transaction_id, request.unit, adu, trailing))
        return *bad;
    if (auto exception = check_exception_reply(request.unit, request.function, adu))
        return *exception;
    if (adu[7] != request.function) {
        return refused_write(fmt::format("reply with function {}, sent function {} (unit {})",
                                         adu[7], request.function, request.unit));
    }
    if (adu.size() != kEchoLength) {
        return refused_write(fmt::format("write reply of {} bytes from unit {}, not {}", adu.size(),
                                         request.unit, kEchoLength),
                             true);
    }
    const bool single = request.function == 5 || request.function == 6;
    const uint16_t address = big_endian_word(adu, 8);
    const uint16_t second = big_endian_word(adu, 10);
    const uint16_t expected =
        single ? single_value(request) : static_cast<uint16_t>(request.values.size());
    if (address != request.address || second != expected) {
        return refused_write(fmt::format("unit {} confirmed {} {} at {}, sent {} at {}",
                                         request.unit, single ? "value" : "count", second, address,
                                         expected, request.address));
    }
    TcpReply reply;
    reply.values = std::vector<uint16_t>{};
    return reply;
}

}  // namespace kaa::modbus
