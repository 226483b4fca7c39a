// Modbus TCP read requests and reply checks: every broken reply is named and refused.
#include "drivers/modbus/tcp_adu.hpp"

#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

namespace kaa::modbus {
namespace {

/// A read of two holding registers at 0x0010 from unit 3, transaction 0x0102.
TcpReadRequest holding_request() {
    TcpReadRequest request;
    request.transaction_id = 0x0102;
    request.unit = 3;
    request.function = 3;
    request.address = 0x0010;
    request.count = 2;
    return request;
}

/// The right reply to holding_request(): words 0x1234 and 0xABCD.
std::vector<uint8_t> good_reply() {
    return {0x01, 0x02, 0x00, 0x00, 0x00, 0x07, 0x03, 0x03, 0x04, 0x12, 0x34, 0xAB, 0xCD};
}

/// The error message of a reply that must be refused as a bad response.
std::string bad_message(const TcpReply& reply) {
    EXPECT_FALSE(reply.values.ok());
    if (reply.values.ok())
        return "";
    EXPECT_EQ(reply.values.error().kind, ErrorKind::kBadResponse) << reply.values.error().message;
    return reply.values.error().message;
}

TEST(ModbusTcpAdu, RequestHasTheMbapHeaderAndPdu) {
    const auto adu = build_read_request(holding_request());
    const std::vector<uint8_t> expected = {0x01, 0x02, 0x00, 0x00, 0x00, 0x06,
                                           0x03, 0x03, 0x00, 0x10, 0x00, 0x02};
    EXPECT_EQ(std::vector<uint8_t>(adu.begin(), adu.end()), expected);
}

TEST(ModbusTcpAdu, GoodRegisterReplyDecodesBigEndianWords) {
    const auto bytes = good_reply();
    const TcpReply reply = check_read_reply(holding_request(), bytes, 0);
    ASSERT_TRUE(reply.values.ok()) << reply.values.error().message;
    EXPECT_EQ(reply.values.value(), (std::vector<uint16_t>{0x1234, 0xABCD}));
    EXPECT_FALSE(reply.framing_lost);
}

TEST(ModbusTcpAdu, GoodBitReplyDecodesFromTheLowBitUp) {
    TcpReadRequest request = holding_request();
    request.function = 1;
    request.count = 10;
    const std::vector<uint8_t> bytes = {0x01, 0x02, 0x00, 0x00,        0x00,       0x05,
                                        0x03, 0x01, 0x02, 0b0000'0101, 0b0000'0010};
    const TcpReply reply = check_read_reply(request, bytes, 0);
    ASSERT_TRUE(reply.values.ok()) << reply.values.error().message;
    EXPECT_EQ(reply.values.value(), (std::vector<uint16_t>{1, 0, 1, 0, 0, 0, 0, 0, 0, 1}));
}

TEST(ModbusTcpAdu, WrongUnitTransactionProtocolOrFunctionIsRefused) {
    auto bytes = good_reply();
    bytes[6] = 7;
    EXPECT_EQ(bad_message(check_read_reply(holding_request(), bytes, 0)),
              "reply for unit 7, asked unit 3");
    bytes = good_reply();
    bytes[1] = 0x03;
    EXPECT_EQ(bad_message(check_read_reply(holding_request(), bytes, 0)),
              "reply with transaction id 259, sent 258 (unit 3)");
    bytes = good_reply();
    bytes[3] = 0x01;
    EXPECT_EQ(bad_message(check_read_reply(holding_request(), bytes, 0)),
              "protocol id 1 in the reply, not 0 (unit 3)");
    bytes = good_reply();
    bytes[7] = 0x04;
    EXPECT_EQ(bad_message(check_read_reply(holding_request(), bytes, 0)),
              "reply with function 4, asked function 3 (unit 3)");
}

TEST(ModbusTcpAdu, OnlyAnotherTransactionOrUnitIdMarksTheReplyAsSomeoneElses) {
    EXPECT_FALSE(check_read_reply(holding_request(), good_reply(), 0).wrong_id);
    auto bytes = good_reply();
    bytes[6] = 7;
    const TcpReply other_unit = check_read_reply(holding_request(), bytes, 0);
    EXPECT_TRUE(other_unit.wrong_id);
    EXPECT_FALSE(other_unit.framing_lost);
    bytes = good_reply();
    bytes[0] = 0x41;
    const TcpReply other_request = check_read_reply(holding_request(), bytes, 0);
    EXPECT_TRUE(other_request.wrong_id);
    EXPECT_FALSE(other_request.framing_lost);
    bytes = good_reply();
    bytes[7] = 0x04;
    EXPECT_FALSE(check_read_reply(holding_request(), bytes, 0).wrong_id);
}

TEST(ModbusTcpAdu, LengthsThatDisagreeLoseTheFraming) {
    auto bytes = good_reply();
    bytes[4] = 0x01;
    bytes[5] = 0x2C;
    TcpReply reply = check_read_reply(holding_request(), bytes, 0);
    EXPECT_EQ(bad_message(reply), "MBAP length 300 but 7 bytes came (unit 3)");
    EXPECT_TRUE(reply.framing_lost);
    bytes[4] = 0x00;
    bytes[5] = 0x05;
    reply = check_read_reply(holding_request(), bytes, 0);
    EXPECT_EQ(bad_message(reply), "MBAP length 5 but 7 bytes came (unit 3)");
    EXPECT_TRUE(reply.framing_lost);
    reply = check_read_reply(holding_request(), good_reply(), 4);
    EXPECT_EQ(bad_message(reply), "4 unexpected bytes followed the reply from unit 3");
    EXPECT_TRUE(reply.framing_lost);
}

TEST(ModbusTcpAdu, ByteCountMustBeWhatWasAsked) {
    const std::vector<uint8_t> bytes = {0x01, 0x02, 0x00, 0x00, 0x00, 0x05,
                                        0x03, 0x03, 0x02, 0x12, 0x34};
    const TcpReply reply = check_read_reply(holding_request(), bytes, 0);
    EXPECT_EQ(bad_message(reply), "reply with 2 data bytes, asked 4 (unit 3)");
    EXPECT_TRUE(reply.framing_lost);
}

TEST(ModbusTcpAdu, ExceptionCodesOneToElevenAreExceptions) {
    const std::vector<uint8_t> bytes = {0x01, 0x02, 0x00, 0x00, 0x00, 0x03, 0x03, 0x83, 0x02};
    const TcpReply reply = check_read_reply(holding_request(), bytes, 0);
    ASSERT_FALSE(reply.values.ok());
    EXPECT_EQ(reply.values.error().kind, ErrorKind::kModbusException);
    EXPECT_EQ(reply.values.error().code, 2);
}

TEST(ModbusTcpAdu, ExceptionCodeZeroOrPastElevenIsABadResponse) {
    for (uint8_t code : {0, 12, 255}) {
        const std::vector<uint8_t> bytes = {0x01, 0x02, 0x00, 0x00, 0x00, 0x03, 0x03, 0x83, code};
        const TcpReply reply = check_read_reply(holding_request(), bytes, 0);
        EXPECT_EQ(bad_message(reply),
                  "invalid exception code " + std::to_string(code) + " from unit 3");
        EXPECT_FALSE(reply.framing_lost);
    }
}

TEST(ModbusTcpAdu, TooShortAReplyIsRefused) {
    const std::vector<uint8_t> bytes = {0x01, 0x02, 0x00, 0x00, 0x00, 0x02, 0x03, 0x03};
    const TcpReply reply = check_read_reply(holding_request(), bytes, 0);
    EXPECT_EQ(bad_message(reply), "reply of 8 bytes is too short for Modbus TCP");
    EXPECT_TRUE(reply.framing_lost);
}

}  // namespace
}  // namespace kaa::modbus
