#include "drivers/simulator/modbus_frame.hpp"

#include <algorithm>

namespace kaa::sim {
namespace {

uint16_t be16(std::span<const uint8_t> bytes, size_t at) {
    return static_cast<uint16_t>((bytes[at] << 8) | bytes[at + 1]);
}

void put_be16(std::vector<uint8_t>& out, uint16_t v) {
    out.push_back(static_cast<uint8_t>(v >> 8));
    out.push_back(static_cast<uint8_t>(v & 0xFF));
}

ParsedRequest fail(uint8_t function, uint8_t code) {
    ParsedRequest p;
    p.request.function = function;
    p.exception = code;
    return p;
}

bool crc_matches(std::span<const uint8_t> frame) {
    const size_t n = frame.size();
    const uint16_t crc = crc16(frame.first(n - 2));
    return frame[n - 2] == (crc & 0xFF) && frame[n - 1] == (crc >> 8);
}

// Address, quantity, byte count and packed values of FC 15/16.
ParsedRequest parse_multiple_write(std::span<const uint8_t> pdu, bool bits) {
    const uint8_t fc = pdu[0];
    if (pdu.size() < 6) {
        return fail(fc, kIllegalDataValue);
    }
    ParsedRequest p;
    p.request.function = fc;
    p.request.address = be16(pdu, 1);
    p.request.quantity = be16(pdu, 3);
    const uint16_t qty = p.request.quantity;
    const uint16_t max = bits ? kMaxWriteBits : kMaxWriteRegisters;
    const size_t byte_count = bits ? (qty + 7u) / 8u : qty * 2u;
    if (qty < 1 || qty > max || pdu[5] != byte_count || pdu.size() != 6 + byte_count) {
        return fail(fc, kIllegalDataValue);
    }
    p.request.values.reserve(qty);
    for (size_t i = 0; i < qty; ++i) {
        if (bits) {
            p.request.values.push_back((pdu[6 + i / 8] >> (i % 8)) & 1u);
        } else {
            p.request.values.push_back(be16(pdu, 6 + 2 * i));
        }
    }
    return p;
}

}  // namespace

uint16_t crc16(std::span<const uint8_t> data) {
    uint16_t crc = 0xFFFF;
    for (uint8_t byte : data) {
        crc ^= byte;
        for (int bit = 0; bit < 8; ++bit) {
            crc = (crc & 1u) ? static_cast<uint16_t>((crc >> 1) ^ 0xA001) : crc >> 1;
        }
    }
    return crc;
}

ParsedRequest parse_request(std::span<const uint8_t> pdu) {
    if (pdu.empty()) {
        return fail(0, kIllegalFunction);
    }
    const uint8_t fc = pdu[0];
    switch (fc) {
        case kReadCoils:
        case kReadDiscreteInputs:
        case kReadHoldingRegisters:
        case kReadInputRegisters: {
            if (pdu.size() != 5) {
                return fail(fc, kIllegalDataValue);
            }
            ParsedRequest p;
            p.request = {fc, be16(pdu, 1), be16(pdu, 3), {}};
            const bool bits = fc == kReadCoils || fc == kReadDiscreteInputs;
            const uint16_t max = bits ? kMaxReadBits : kMaxReadRegisters;
            if (p.request.quantity < 1 || p.request.quantity > max) {
                return fail(fc, kIllegalDataValue);
            }
            return p;
        }
        case kWriteSingleCoil:
        case kWriteSingleRegister: {
            if (pdu.size() != 5) {
                return fail(fc, kIllegalDataValue);
            }
            uint16_t value = be16(pdu, 3);
            if (fc == kWriteSingleCoil) {
                if (value != 0xFF00 && value != 0x0000) {
                    return fail(fc, kIllegalDataValue);
                }
                value = value ? 1 : 0;
            }
            ParsedRequest p;
            p.request = {fc, be16(pdu, 1), 1, {value}};
            return p;
        }
        case kWriteMultipleCoils:
            return parse_multiple_write(pdu, true);
        case kWriteMultipleRegisters:
            return parse_multiple_write(pdu, false);
        default:
            return fail(fc, kIllegalFunction);
    }
}

std::vector<uint8_t> bits_response(uint8_t function, std::span<const uint8_t> bits) {
    const size_t byte_count = (bits.size() + 7) / 8;
    std::vector<uint8_t> out(2 + byte_count, 0);
    out[0] = function;
    out[1] = static_cast<uint8_t>(byte_count);
    for (size_t i = 0; i < bits.size(); ++i) {
        if (bits[i]) {
            out[2 + i / 8] |= static_cast<uint8_t>(1u << (i % 8));
        }
    }
    return out;
}

std::vector<uint8_t> registers_response(uint8_t function, std::span<const uint16_t> words) {
    std::vector<uint8_t> out{function, static_cast<uint8_t>(words.size() * 2)};
    out.reserve(2 + words.size() * 2);
    for (uint16_t w : words) {
        put_be16(out, w);
    }
    return out;
}

std::vector<uint8_t> write_response(const Request& request) {
    std::vector<uint8_t> out{request.function};
    put_be16(out, request.address);
    if (request.function == kWriteSingleCoil) {
        put_be16(out, !request.values.empty() && request.values[0] ? 0xFF00 : 0x0000);
    } else if (request.function == kWriteSingleRegister) {
        put_be16(out, request.values.empty() ? 0 : request.values[0]);
    } else {
        put_be16(out, request.quantity);
    }
    return out;
}

std::vector<uint8_t> exception_response(uint8_t function, uint8_t code) {
    return {static_cast<uint8_t>(function | 0x80), code};
}

RtuScan scan_rtu(std::span<const uint8_t> buffer) {
    if (buffer.size() < 2) {
        return {};
    }
    const uint8_t fc = buffer[1];
    size_t expected = 0;
    if (fc >= kReadCoils && fc <= kWriteSingleRegister) {
        expected = 8;
    } else if (fc == kWriteMultipleCoils || fc == kWriteMultipleRegisters) {
        if (buffer.size() < 7) {
            return {};
        }
        expected = 9 + static_cast<size_t>(buffer[6]);
    } else {
        // Unknown length: the first prefix whose CRC matches is the frame.
        const size_t limit = std::min(buffer.size(), kMaxRtuFrame);
        for (size_t len = 4; len <= limit; ++len) {
            if (crc_matches(buffer.first(len))) {
                return {ScanStatus::kFrame, len};
            }
        }
        return {buffer.size() >= kMaxRtuFrame ? ScanStatus::kInvalid : ScanStatus::kNeedMore, 0};
    }
    if (buffer.size() < expected) {
        return {};
    }
    if (!crc_matches(buffer.first(expected))) {
        return {ScanStatus::kInvalid, 0};
    }
    return {ScanStatus::kFrame, expected};
}

TcpScan scan_tcp(std::span<const uint8_t> buffer) {
    if (buffer.size() < 7) {
        return {};
    }
    const uint16_t protocol = be16(buffer, 2);
    const uint16_t length = be16(buffer, 4);
    if (protocol != 0 || length < 2 || length > kMaxMbapLength) {
        return {ScanStatus::kInvalid, 0, 0, 0};
    }
    const size_t total = 6u + length;
    if (buffer.size() < total) {
        return {};
    }
    return {ScanStatus::kFrame, total, be16(buffer, 0), buffer[6]};
}

std::span<const uint8_t> tcp_pdu(std::span<const uint8_t> frame) {
    return frame.subspan(7);
}

std::span<const uint8_t> rtu_pdu(std::span<const uint8_t> frame) {
    return frame.subspan(1, frame.size() - 3);
}

std::vector<uint8_t> rtu_frame(uint8_t unit, std::span<const uint8_t> pdu) {
    std::vector<uint8_t> out;
    out.reserve(pdu.size() + 3);
    out.push_back(unit);
    out.insert(out.end(), pdu.begin(), pdu.end());
    const uint16_t crc = crc16(out);
    out.push_back(static_cast<uint8_t>(crc & 0xFF));
    out.push_back(static_cast<uint8_t>(crc >> 8));
    return out;
}

std::vector<uint8_t> tcp_frame(uint16_t transaction, uint8_t unit, std::span<const uint8_t> pdu) {
    std::vector<uint8_t> out;
    out.reserve(pdu.size() + 7);
    put_be16(out, transaction);
    put_be16(out, 0);
    put_be16(out, static_cast<uint16_t>(pdu.size() + 1));
    out.push_back(unit);
    out.insert(out.end(), pdu.begin(), pdu.end());
    return out;
}

}  // namespace kaa::sim
