#pragma once
// Modbus TCP read requests and the checks of their replies, done here rather than by
// libmodbus 3.1.6, which decodes TCP replies without checking the MBAP header against
// the request (protocol id, length, unit id) or the byte count against what was asked.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "config/config.hpp"
#include "core/result.hpp"

namespace kaa::modbus {

/// One read request on Modbus TCP: what is sent and what its reply must match.
struct TcpReadRequest {
    uint16_t transaction_id = 0;
    uint8_t unit = 0;
    uint8_t function = 0;
    uint16_t address = 0;
    uint16_t count = 0;
};

/// The MBAP header's length: transaction id, protocol id, length, unit id.
inline constexpr size_t kTcpMbapLength = 7;

/// The big-endian 16-bit word at `at` of `bytes`.
inline uint16_t big_endian_word(std::span<const uint8_t> bytes, size_t at) {
    return static_cast<uint16_t>((bytes[at] << 8) | bytes[at + 1]);
}

/// The function code that reads `function`'s table: 1 coils, 2 discrete, 3 holding, 4 input.
uint8_t function_code(config::RegisterFunction function);

/// The most values one request may ask for: 2000 bits or 125 registers.
uint16_t max_read_count(uint8_t function);

/// Length of a read request's ADU: the 7-byte MBAP header and a 5-byte PDU.
inline constexpr size_t kTcpReadRequestLength = 12;

/// The bytes of a read request's ADU.
std::array<uint8_t, kTcpReadRequestLength> build_read_request(const TcpReadRequest& request);

/// What a reply comes to: the values (one word per register, or 0/1 per bit), or an
/// Error (kModbusException with the code for exceptions 1..11, kBadResponse otherwise).
struct TcpReply {
    Result<std::vector<uint16_t>> values = make_error(ErrorKind::kInternal, "not checked");
    /// The reply's own length fields disagree with the bytes read, or bytes followed it:
    /// where the next frame starts is unknown, so the connection should be dropped.
    bool framing_lost = false;
    /// A well-framed reply with another transaction id or unit id than the request's: the
    /// answer to some other request (a late one, or a converter's mix-up), never decoded.
    bool wrong_id = false;
};

/// Checks the framing and the MBAP header of a reply ADU against the request's transaction
/// and unit ids, and `trailing` (bytes already waiting after it, which a reply must not
/// have): the refusal, or nullopt when the PDU may be looked at (adu has 9 bytes at least).
std::optional<TcpReply> check_reply_header(uint16_t transaction_id, uint8_t unit,
                                           std::span<const uint8_t> adu, size_t trailing);

/// The verdict on an exception reply to `function` (after check_reply_header), or nullopt
/// when the reply is not one.
std::optional<TcpReply> check_exception_reply(uint8_t unit, uint8_t function,
                                              std::span<const uint8_t> adu);

/// Checks a whole reply ADU (`adu`, as received) against `request`, and `trailing` (bytes
/// already waiting after it, which a reply must not have); decodes it when it passes.
TcpReply check_read_reply(const TcpReadRequest& request, std::span<const uint8_t> adu,
                          size_t trailing);

}  // namespace kaa::modbus
