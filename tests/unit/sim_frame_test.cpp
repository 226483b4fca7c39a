// The simulator's Modbus server codec: CRC, request parsing, responses and stream framing.

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "drivers/simulator/modbus_frame.hpp"

namespace kaa::sim {
namespace {

using Bytes = std::vector<uint8_t>;

TEST(SimFrame, Crc16OfKnownFrames) {
    const Bytes read_holding{0x01, 0x03, 0x00, 0x00, 0x00, 0x0A};
    EXPECT_EQ(crc16(read_holding), 0xCDC5);  // sent as C5 CD
    const Bytes read_input{0x01, 0x04, 0x00, 0x00, 0x00, 0x01};
    EXPECT_EQ(crc16(read_input), 0xCA31);  // sent as 31 CA
    EXPECT_EQ(crc16(Bytes{}), 0xFFFF);
}

TEST(SimFrame, RtuFrameAppendsCrcLowByteFirst) {
    const Bytes pdu{0x03, 0x00, 0x00, 0x00, 0x0A};
    EXPECT_EQ(rtu_frame(0x01, pdu), (Bytes{0x01, 0x03, 0x00, 0x00, 0x00, 0x0A, 0xC5, 0xCD}));
}

TEST(SimFrame, TcpFrameHasMbapHeader) {
    const Bytes pdu{0x03, 0x02, 0x12, 0x34};
    EXPECT_EQ(tcp_frame(0xABCD, 7, pdu),
              (Bytes{0xAB, 0xCD, 0x00, 0x00, 0x00, 0x05, 0x07, 0x03, 0x02, 0x12, 0x34}));
}

TEST(SimFrame, ParsesReadRequest) {
    const ParsedRequest p = parse_request(Bytes{0x04, 0x01, 0x02, 0x00, 0x7D});
    EXPECT_EQ(p.exception, 0);
    EXPECT_EQ(p.request.function, 4);
    EXPECT_EQ(p.request.address, 0x0102);
    EXPECT_EQ(p.request.quantity, 125);
}

TEST(SimFrame, RegisterQuantityLimits) {
    EXPECT_EQ(parse_request(Bytes{0x03, 0, 0, 0, 0}).exception, kIllegalDataValue);
    EXPECT_EQ(parse_request(Bytes{0x03, 0, 0, 0, 1}).exception, 0);
    EXPECT_EQ(parse_request(Bytes{0x03, 0, 0, 0, 125}).exception, 0);
    EXPECT_EQ(parse_request(Bytes{0x03, 0, 0, 0, 126}).exception, kIllegalDataValue);
    EXPECT_EQ(parse_request(Bytes{0x04, 0, 0, 0, 126}).exception, kIllegalDataValue);
}

TEST(SimFrame, BitQuantityLimits) {
    EXPECT_EQ(parse_request(Bytes{0x01, 0, 0, 0, 0}).exception, kIllegalDataValue);
    EXPECT_EQ(parse_request(Bytes{0x01, 0, 0, 0x07, 0xD0}).exception, 0);  // 2000
    EXPECT_EQ(parse_request(Bytes{0x02, 0, 0, 0x07, 0xD0}).exception, 0);
    EXPECT_EQ(parse_request(Bytes{0x01, 0, 0, 0x07, 0xD1}).exception, kIllegalDataValue);
    EXPECT_EQ(parse_request(Bytes{0x02, 0, 0, 0x07, 0xD1}).exception, kIllegalDataValue);
}

TEST(SimFrame, ShortPduIsIllegalValue) {
    EXPECT_EQ(parse_request(Bytes{0x03, 0, 0}).exception, kIllegalDataValue);
}

TEST(SimFrame, UnsupportedFunctionIsIllegalFunction) {
    const ParsedRequest p = parse_request(Bytes{0x2B, 0x0E, 0x01, 0x00});
    EXPECT_EQ(p.exception, kIllegalFunction);
    EXPECT_EQ(p.request.function, 0x2B);
    EXPECT_EQ(parse_request(Bytes{0x11}).exception, kIllegalFunction);
    EXPECT_EQ(parse_request(Bytes{}).exception, kIllegalFunction);
}

TEST(SimFrame, ExceptionResponseSetsHighBit) {
    EXPECT_EQ(exception_response(0x03, kIllegalDataAddress), (Bytes{0x83, 0x02}));
    EXPECT_EQ(exception_response(0x2B, kIllegalFunction), (Bytes{0xAB, 0x01}));
    EXPECT_EQ(rtu_frame(1, exception_response(0x03, kIllegalDataValue)),
              (Bytes{0x01, 0x83, 0x03, 0x01, 0x31}));
}

TEST(SimFrame, WriteSingleCoilAcceptsOnlyFf00And0000) {
    const ParsedRequest on = parse_request(Bytes{0x05, 0x00, 0x07, 0xFF, 0x00});
    ASSERT_EQ(on.exception, 0);
    EXPECT_EQ(on.request.values, (std::vector<uint16_t>{1}));
    EXPECT_EQ(write_response(on.request), (Bytes{0x05, 0x00, 0x07, 0xFF, 0x00}));
    const ParsedRequest off = parse_request(Bytes{0x05, 0x00, 0x07, 0x00, 0x00});
    ASSERT_EQ(off.exception, 0);
    EXPECT_EQ(off.request.values, (std::vector<uint16_t>{0}));
    EXPECT_EQ(parse_request(Bytes{0x05, 0x00, 0x07, 0x12, 0x34}).exception, kIllegalDataValue);
}

TEST(SimFrame, WriteSingleRegisterEchoes) {
    const ParsedRequest p = parse_request(Bytes{0x06, 0x00, 0x10, 0xBE, 0xEF});
    ASSERT_EQ(p.exception, 0);
    EXPECT_EQ(p.request.values, (std::vector<uint16_t>{0xBEEF}));
    EXPECT_EQ(write_response(p.request), (Bytes{0x06, 0x00, 0x10, 0xBE, 0xEF}));
}

TEST(SimFrame, WriteMultipleRegisters) {
    const ParsedRequest p =
        parse_request(Bytes{0x10, 0x00, 0x20, 0x00, 0x02, 0x04, 0x00, 0x0A, 0x01, 0x02});
    ASSERT_EQ(p.exception, 0);
    EXPECT_EQ(p.request.address, 0x20);
    EXPECT_EQ(p.request.values, (std::vector<uint16_t>{0x000A, 0x0102}));
    EXPECT_EQ(write_response(p.request), (Bytes{0x10, 0x00, 0x20, 0x00, 0x02}));
    // Byte count disagreeing with the quantity.
    EXPECT_EQ(parse_request(Bytes{0x10, 0x00, 0x20, 0x00, 0x02, 0x02, 0x00, 0x0A}).exception,
              kIllegalDataValue);
    // Quantity above 123.
    Bytes big{0x10, 0x00, 0x00, 0x00, 124, 248};
    big.resize(big.size() + 248, 0);
    EXPECT_EQ(parse_request(big).exception, kIllegalDataValue);
}

TEST(SimFrame, WriteMultipleCoils) {
    const ParsedRequest p = parse_request(Bytes{0x0F, 0x00, 0x13, 0x00, 0x0A, 0x02, 0xCD, 0x01});
    ASSERT_EQ(p.exception, 0);
    EXPECT_EQ(p.request.values, (std::vector<uint16_t>{1, 0, 1, 1, 0, 0, 1, 1, 1, 0}));
    EXPECT_EQ(write_response(p.request), (Bytes{0x0F, 0x00, 0x13, 0x00, 0x0A}));
    EXPECT_EQ(parse_request(Bytes{0x0F, 0x00, 0x13, 0x00, 0x0A, 0x01, 0xCD}).exception,
              kIllegalDataValue);
}

TEST(SimFrame, BitsResponsePacksLsbFirst) {
    const Bytes bits{1, 0, 1, 1, 0, 0, 0, 0, 1};
    EXPECT_EQ(bits_response(0x01, bits), (Bytes{0x01, 0x02, 0x0D, 0x01}));
    EXPECT_EQ(bits_response(0x02, Bytes{0}), (Bytes{0x02, 0x01, 0x00}));
}

TEST(SimFrame, RegistersResponseIsBigEndian) {
    const std::vector<uint16_t> words{0x1234, 0xFB2E};
    EXPECT_EQ(registers_response(0x04, words), (Bytes{0x04, 0x04, 0x12, 0x34, 0xFB, 0x2E}));
}

TEST(SimFrame, ScanRtuWaitsForAWholeFrame) {
    const Bytes frame = rtu_frame(1, Bytes{0x03, 0x00, 0x00, 0x00, 0x0A});
    for (size_t n = 0; n < frame.size(); ++n) {
        EXPECT_EQ(scan_rtu(std::span(frame).first(n)).status, ScanStatus::kNeedMore) << n;
    }
    const RtuScan scan = scan_rtu(frame);
    EXPECT_EQ(scan.status, ScanStatus::kFrame);
    EXPECT_EQ(scan.length, 8u);
    const auto pdu = rtu_pdu(frame);
    EXPECT_EQ(Bytes(pdu.begin(), pdu.end()), (Bytes{0x03, 0x00, 0x00, 0x00, 0x0A}));
}

TEST(SimFrame, ScanRtuRejectsBadCrc) {
    Bytes frame = rtu_frame(1, Bytes{0x03, 0x00, 0x00, 0x00, 0x0A});
    frame.back() ^= 0xFF;
    EXPECT_EQ(scan_rtu(frame).status, ScanStatus::kInvalid);
}

TEST(SimFrame, ScanRtuFindsFirstOfTwoFrames) {
    Bytes both = rtu_frame(1, Bytes{0x03, 0x00, 0x00, 0x00, 0x02});
    const Bytes second = rtu_frame(2, Bytes{0x04, 0x00, 0x00, 0x00, 0x01});
    both.insert(both.end(), second.begin(), second.end());
    const RtuScan scan = scan_rtu(both);
    EXPECT_EQ(scan.status, ScanStatus::kFrame);
    EXPECT_EQ(scan.length, 8u);
    EXPECT_EQ(scan_rtu(std::span(both).subspan(8)).length, 8u);
}

TEST(SimFrame, ScanRtuWriteMultipleUsesByteCount) {
    const Bytes frame =
        rtu_frame(3, Bytes{0x10, 0x00, 0x20, 0x00, 0x02, 0x04, 0x00, 0x0A, 0x01, 0x02});
    EXPECT_EQ(scan_rtu(std::span(frame).first(frame.size() - 1)).status, ScanStatus::kNeedMore);
    const RtuScan scan = scan_rtu(frame);
    EXPECT_EQ(scan.status, ScanStatus::kFrame);
    EXPECT_EQ(scan.length, frame.size());
}

TEST(SimFrame, ScanRtuUnknownFunctionFramedByCrc) {
    const Bytes frame = rtu_frame(1, Bytes{0x11});
    EXPECT_EQ(scan_rtu(std::span(frame).first(3)).status, ScanStatus::kNeedMore);
    const RtuScan scan = scan_rtu(frame);
    EXPECT_EQ(scan.status, ScanStatus::kFrame);
    EXPECT_EQ(scan.length, 4u);
}

TEST(SimFrame, ScanTcpHandlesPartialAndSeveralFrames) {
    Bytes stream = tcp_frame(1, 1, Bytes{0x03, 0x00, 0x00, 0x00, 0x01});
    const Bytes second = tcp_frame(2, 5, Bytes{0x04, 0x00, 0x10, 0x00, 0x02});
    stream.insert(stream.end(), second.begin(), second.end());
    for (size_t n = 0; n < 12; ++n) {
        EXPECT_EQ(scan_tcp(std::span(stream).first(n)).status, ScanStatus::kNeedMore) << n;
    }
    const TcpScan a = scan_tcp(stream);
    ASSERT_EQ(a.status, ScanStatus::kFrame);
    EXPECT_EQ(a.length, 12u);
    EXPECT_EQ(a.transaction, 1);
    EXPECT_EQ(a.unit, 1);
    const TcpScan b = scan_tcp(std::span(stream).subspan(12));
    ASSERT_EQ(b.status, ScanStatus::kFrame);
    EXPECT_EQ(b.transaction, 2);
    EXPECT_EQ(b.unit, 5);
    const auto pdu = tcp_pdu(std::span(stream).subspan(12, b.length));
    EXPECT_EQ(Bytes(pdu.begin(), pdu.end()), (Bytes{0x04, 0x00, 0x10, 0x00, 0x02}));
}

TEST(SimFrame, ScanTcpRejectsGarbageHeaders) {
    const Bytes wrong_protocol{0x00, 0x01, 0x00, 0x01, 0x00, 0x06, 0x01, 0x03};
    EXPECT_EQ(scan_tcp(wrong_protocol).status, ScanStatus::kInvalid);
    const Bytes too_long{0x00, 0x01, 0x00, 0x00, 0x01, 0x05, 0x01};  // length 261
    EXPECT_EQ(scan_tcp(too_long).status, ScanStatus::kInvalid);
    const Bytes longest{0x00, 0x01, 0x00, 0x00, 0x01, 0x04, 0x01};  // length 260: wait for it
    EXPECT_EQ(scan_tcp(longest).status, ScanStatus::kNeedMore);
    const Bytes too_short{0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x01};
    EXPECT_EQ(scan_tcp(too_short).status, ScanStatus::kInvalid);
}

}  // namespace
}  // namespace kaa::sim
