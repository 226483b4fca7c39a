#pragma once
// The simulator's Modbus server codec: CRC-16, splitting RTU and TCP byte streams into
// requests, decoding request PDUs and building response PDUs and frames. Pure functions.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace kaa::sim {

/// Function codes the simulator serves.
enum FunctionCode : uint8_t {
    kReadCoils = 1,
    kReadDiscreteInputs = 2,
    kReadHoldingRegisters = 3,
    kReadInputRegisters = 4,
    kWriteSingleCoil = 5,
    kWriteSingleRegister = 6,
    kWriteMultipleCoils = 15,
    kWriteMultipleRegisters = 16,
};

/// Exception codes the simulator answers with.
enum ExceptionCode : uint8_t {
    kIllegalFunction = 1,
    kIllegalDataAddress = 2,
    kIllegalDataValue = 3,
};

/// Protocol limits on the quantity of one request.
inline constexpr uint16_t kMaxReadBits = 2000;
inline constexpr uint16_t kMaxReadRegisters = 125;
inline constexpr uint16_t kMaxWriteBits = 1968;
inline constexpr uint16_t kMaxWriteRegisters = 123;
/// Largest MBAP length field accepted before a TCP client is considered to send garbage.
inline constexpr uint16_t kMaxMbapLength = 260;
/// Largest RTU frame (address + PDU + CRC).
inline constexpr size_t kMaxRtuFrame = 256;

/// CRC-16/MODBUS of the bytes (init 0xFFFF, reflected polynomial 0xA001); sent low byte first.
uint16_t crc16(std::span<const uint8_t> data);

/// A decoded request PDU.
struct Request {
    uint8_t function = 0;
    uint16_t address = 0;
    uint16_t quantity = 0;         // bits or registers; 1 for FC 5 and 6
    std::vector<uint16_t> values;  // writes: register values, or 0/1 per coil
};

/// A request, or the exception code its PDU deserves (exception != 0).
struct ParsedRequest {
    Request request;
    uint8_t exception = 0;
};

/// Decodes a request PDU (function code first): unsupported code -> 01, bad quantity,
/// byte count or length -> 03. Address range is not checked here (the bank does it).
ParsedRequest parse_request(std::span<const uint8_t> pdu);

/// Response PDU to FC 1/2: the bits (one byte 0/1 each) packed LSB first.
std::vector<uint8_t> bits_response(uint8_t function, std::span<const uint8_t> bits);
/// Response PDU to FC 3/4: the registers big-endian.
std::vector<uint8_t> registers_response(uint8_t function, std::span<const uint16_t> words);
/// Response PDU to FC 5/6/15/16: the echo of address and value or quantity.
std::vector<uint8_t> write_response(const Request& request);
/// Exception response PDU: function code with the high bit set, then the code.
std::vector<uint8_t> exception_response(uint8_t function, uint8_t code);

/// What a scan of buffered bytes found at their start.
enum class ScanStatus { kNeedMore, kFrame, kInvalid };

/// Result of scanning an RTU buffer; length covers unit, PDU and CRC when kFrame.
struct RtuScan {
    ScanStatus status = ScanStatus::kNeedMore;
    size_t length = 0;
};

/// Looks for a complete RTU request with a matching CRC at the start of the buffer.
RtuScan scan_rtu(std::span<const uint8_t> buffer);

/// Result of scanning a TCP buffer; when kFrame, length covers MBAP header and PDU.
struct TcpScan {
    ScanStatus status = ScanStatus::kNeedMore;
    size_t length = 0;
    uint16_t transaction = 0;
    uint8_t unit = 0;
};

/// Looks for a complete MBAP frame at the start of the buffer; kInvalid for a protocol id
/// other than 0 or a length field outside 2..kMaxMbapLength.
TcpScan scan_tcp(std::span<const uint8_t> buffer);

/// The PDU inside a complete TCP frame found by scan_tcp.
std::span<const uint8_t> tcp_pdu(std::span<const uint8_t> frame);
/// The PDU inside a complete RTU frame found by scan_rtu.
std::span<const uint8_t> rtu_pdu(std::span<const uint8_t> frame);

/// An RTU frame: unit, PDU, CRC low byte, CRC high byte.
std::vector<uint8_t> rtu_frame(uint8_t unit, std::span<const uint8_t> pdu);
/// A TCP frame: MBAP header (transaction, protocol 0, length, unit) then the PDU.
std::vector<uint8_t> tcp_frame(uint16_t transaction, uint8_t unit, std::span<const uint8_t> pdu);

}  // namespace kaa::sim
