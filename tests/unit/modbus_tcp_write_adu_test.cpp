// Modbus TCP write requests: the bytes of 05, 06, 15 and 16, and their replies checked.
#include "drivers/modbus/tcp_write_adu.hpp"

#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

namespace kaa::modbus {
namespace {

using Bytes = std::vector<uint8_t>;

TcpWriteRequest request(uint8_t function, std::vector<uint16_t> values) {
    TcpWriteRequest r;
    r.transaction_id = 0x0A0B;
    r.unit = 7;
    r.function = function;
    r.address = 0x0028;
    r.values = std::move(values);
    return r;
}

TEST(TcpWriteAdu, TheFunctionDependsOnTheTableTheCountAndTheRegistersWish) {
    EXPECT_EQ(write_function_code(config::RegisterFunction::kHolding, 1, false), 6);
    EXPECT_EQ(write_function_code(config::RegisterFunction::kHolding, 1, true), 16);
    EXPECT_EQ(write_function_code(config::RegisterFunction::kHolding, 2, false), 16);
    EXPECT_EQ(write_function_code(config::RegisterFunction::kCoil, 1, false), 5);
    EXPECT_EQ(write_function_code(config::RegisterFunction::kCoil, 1, true), 15);
    EXPECT_EQ(max_write_count(16), 123);
    EXPECT_EQ(max_write_count(15), 1968);
}

TEST(TcpWriteAdu, RequestsCarryTheValuesAsTheStandardSays) {
    EXPECT_EQ(build_write_request(request(6, {0x1234})),
              (Bytes{0x0A, 0x0B, 0, 0, 0, 6, 7, 6, 0x00, 0x28, 0x12, 0x34}));
    EXPECT_EQ(build_write_request(request(5, {1})),
              (Bytes{0x0A, 0x0B, 0, 0, 0, 6, 7, 5, 0x00, 0x28, 0xFF, 0x00}));
    EXPECT_EQ(
        build_write_request(request(16, {0x4366, 0x199A})),
        (Bytes{0x0A, 0x0B, 0, 0, 0, 11, 7, 16, 0x00, 0x28, 0x00, 0x02, 4, 0x43, 0x66, 0x19, 0x9A}));
    EXPECT_EQ(build_write_request(request(15, {1, 0, 1, 1, 0, 0, 0, 0, 1})),
              (Bytes{0x0A, 0x0B, 0, 0, 0, 9, 7, 15, 0x00, 0x28, 0x00, 0x09, 2, 0x0D, 0x01}));
}

TEST(TcpWriteAdu, AnEchoConfirmsTheWrite) {
    const auto single = request(6, {0x1234});
    EXPECT_TRUE(
        check_write_reply(single, build_write_request(single), 0).values.ok());  // 06 echoes
    const auto multiple = request(16, {1, 2});
    const Bytes confirmed{0x0A, 0x0B, 0, 0, 0, 6, 7, 16, 0x00, 0x28, 0x00, 0x02};
    EXPECT_TRUE(check_write_reply(multiple, confirmed, 0).values.ok());
}

TEST(TcpWriteAdu, WrongEchoesExceptionsAndOtherRequestsRepliesAreRefused) {
    const auto single = request(6, {0x1234});
    const Bytes other_value{0x0A, 0x0B, 0, 0, 0, 6, 7, 6, 0x00, 0x28, 0x12, 0x35};
    auto r = check_write_reply(single, other_value, 0);
    ASSERT_FALSE(r.values.ok());
    EXPECT_EQ(r.values.error().message, "unit 7 confirmed value 4661 at 40, sent 4660 at 40");

    const Bytes exception{0x0A, 0x0B, 0, 0, 0, 3, 7, 0x86, 0x02};
    r = check_write_reply(single, exception, 0);
    ASSERT_FALSE(r.values.ok());
    EXPECT_EQ(r.values.error().kind, ErrorKind::kModbusException);
    EXPECT_EQ(r.values.error().code, 2);

    const Bytes late{0x0A, 0x0A, 0, 0, 0, 6, 7, 6, 0x00, 0x28, 0x12, 0x34};
    r = check_write_reply(single, late, 0);
    EXPECT_TRUE(r.wrong_id);
    EXPECT_FALSE(r.values.ok());

    const Bytes short_echo{0x0A, 0x0B, 0, 0, 0, 4, 7, 6, 0x00, 0x28};
    r = check_write_reply(single, short_echo, 0);
    EXPECT_TRUE(r.framing_lost);

    EXPECT_TRUE(check_write_reply(single, build_write_request(single), 3).framing_lost);
}

}  // namespace
}  // namespace kaa::modbus
