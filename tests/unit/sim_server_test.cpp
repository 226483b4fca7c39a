// The simulator's TCP server, read by libmodbus as a real client.

#include <gtest/gtest.h>
#include <modbus/modbus.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "drivers/simulator/modbus_frame.hpp"
#include "drivers/simulator/simulator.hpp"

namespace kaa::sim {
namespace {

using config::ByteOrder;
using config::RegisterFunction;
using config::ValueType;
using Bytes = std::vector<uint8_t>;
using namespace std::chrono_literals;

config::SimRegisterConfig make_reg(RegisterFunction f, uint16_t address, ValueType type,
                                   nlohmann::json value, ByteOrder order = ByteOrder::kABCD,
                                   int length = 0) {
    config::SimRegisterConfig r;
    r.reg.function = f;
    r.reg.address = address;
    r.reg.type = type;
    r.reg.byte_order = order;
    r.reg.length = length;
    r.value = std::move(value);
    return r;
}

// Unit 1: one of everything; unit 2: a sparse unit whose holes are illegal.
std::vector<config::SimUnitConfig> test_units() {
    config::SimUnitConfig u1;
    u1.unit = 1;
    u1.registers = {
        make_reg(RegisterFunction::kInput, 0, ValueType::kFloat32, 229.7, ByteOrder::kABCD),
        make_reg(RegisterFunction::kInput, 2, ValueType::kFloat32, 229.7, ByteOrder::kCDAB),
        make_reg(RegisterFunction::kInput, 4, ValueType::kFloat32, 229.7, ByteOrder::kBADC),
        make_reg(RegisterFunction::kInput, 6, ValueType::kFloat32, 229.7, ByteOrder::kDCBA),
        make_reg(RegisterFunction::kHolding, 10, ValueType::kInt16, -1234),
        make_reg(RegisterFunction::kHolding, 20, ValueType::kString, "KAA-SIM", ByteOrder::kABCD,
                 4),
        make_reg(RegisterFunction::kCoil, 5, ValueType::kBool, true),
        make_reg(RegisterFunction::kCoil, 6, ValueType::kBool, false),
        make_reg(RegisterFunction::kDiscrete, 3, ValueType::kBool, true),
    };
    config::SimUnitConfig u2;
    u2.unit = 2;
    u2.illegal_holes = true;
    u2.registers = {make_reg(RegisterFunction::kHolding, 0, ValueType::kUint16, 4242)};
    return {u1, u2};
}

config::SimConfig tcp_config(int port) {
    config::SimServerConfig s;
    s.name = "tcp-test";
    s.link = config::TcpLink{"127.0.0.1", port};
    s.units = test_units();
    config::SimConfig c;
    c.servers.push_back(s);
    return c;
}

uint32_t float_bits(float f) {
    uint32_t u = 0;
    std::memcpy(&u, &f, sizeof(u));
    return u;
}

uint16_t swap_bytes(uint16_t w) {
    return static_cast<uint16_t>((w << 8) | (w >> 8));
}

// A libmodbus TCP client connected to the simulator; freed on scope exit.
class TcpClient {
  public:
    explicit TcpClient(uint16_t port) : ctx_(modbus_new_tcp("127.0.0.1", port)) {
        modbus_set_response_timeout(ctx_, 0, 200'000);
        connected_ = modbus_connect(ctx_) == 0;
    }
    ~TcpClient() {
        modbus_close(ctx_);
        modbus_free(ctx_);
    }
    modbus_t* get() { return ctx_; }
    bool connected() const { return connected_; }

  private:
    modbus_t* ctx_;
    bool connected_ = false;
};

// A raw TCP socket to send bytes libmodbus would never send.
int raw_connect(uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// Reads exactly n bytes or until the deadline; returns what arrived (empty on close).
Bytes read_n(int fd, size_t n, std::chrono::milliseconds deadline) {
    Bytes out;
    const auto end = std::chrono::steady_clock::now() + deadline;
    while (out.size() < n) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            end - std::chrono::steady_clock::now());
        pollfd p{fd, POLLIN, 0};
        if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
            break;
        }
        uint8_t buf[512];
        const ssize_t got = ::read(fd, buf, std::min(sizeof(buf), n - out.size()));
        if (got <= 0) {
            break;
        }
        out.insert(out.end(), buf, buf + got);
    }
    return out;
}

class SimTcp : public ::testing::Test {
  protected:
    void SetUp() override {
        sim_ = std::make_unique<Simulator>(tcp_config(0));
        const Status s = sim_->start();
        ASSERT_TRUE(s.ok()) << s.error().message;
        port_ = sim_->tcp_port(0);
        ASSERT_NE(port_, 0);
    }
    std::unique_ptr<Simulator> sim_;
    uint16_t port_ = 0;
};

TEST_F(SimTcp, Float32InAllFourByteOrders) {
    TcpClient c(port_);
    ASSERT_TRUE(c.connected());
    ASSERT_EQ(modbus_set_slave(c.get(), 1), 0);
    uint16_t w[8] = {};
    ASSERT_EQ(modbus_read_input_registers(c.get(), 0, 8, w), 8) << modbus_strerror(errno);
    const uint32_t bits = float_bits(229.7f);
    const auto hi = static_cast<uint16_t>(bits >> 16);
    const auto lo = static_cast<uint16_t>(bits & 0xFFFF);
    EXPECT_EQ(w[0], hi);
    EXPECT_EQ(w[1], lo);
    EXPECT_EQ(w[2], lo);
    EXPECT_EQ(w[3], hi);
    EXPECT_EQ(w[4], swap_bytes(hi));
    EXPECT_EQ(w[5], swap_bytes(lo));
    EXPECT_EQ(w[6], swap_bytes(lo));
    EXPECT_EQ(w[7], swap_bytes(hi));
    EXPECT_EQ(modbus_get_float_abcd(&w[0]), 229.7f);
    EXPECT_EQ(modbus_get_float_cdab(&w[2]), 229.7f);
    EXPECT_EQ(modbus_get_float_badc(&w[4]), 229.7f);
    EXPECT_EQ(modbus_get_float_dcba(&w[6]), 229.7f);
}

TEST_F(SimTcp, NegativeInt16StringCoilAndDiscrete) {
    TcpClient c(port_);
    ASSERT_TRUE(c.connected());
    modbus_set_slave(c.get(), 1);
    uint16_t v = 0;
    ASSERT_EQ(modbus_read_registers(c.get(), 10, 1, &v), 1);
    EXPECT_EQ(static_cast<int16_t>(v), -1234);
    uint16_t text[4] = {};
    ASSERT_EQ(modbus_read_registers(c.get(), 20, 4, text), 4);
    EXPECT_EQ(text[0], ('K' << 8) | 'A');
    EXPECT_EQ(text[1], ('A' << 8) | '-');
    EXPECT_EQ(text[2], ('S' << 8) | 'I');
    EXPECT_EQ(text[3], ('M' << 8) | 0);
    uint8_t coils[3] = {9, 9, 9};
    ASSERT_EQ(modbus_read_bits(c.get(), 4, 3, coils), 3);
    EXPECT_EQ(coils[0], 0);
    EXPECT_EQ(coils[1], 1);
    EXPECT_EQ(coils[2], 0);
    uint8_t discrete = 0;
    ASSERT_EQ(modbus_read_input_bits(c.get(), 3, 1, &discrete), 1);
    EXPECT_EQ(discrete, 1);
}

TEST_F(SimTcp, UnknownUnitDoesNotAnswer) {
    TcpClient c(port_);
    ASSERT_TRUE(c.connected());
    modbus_set_slave(c.get(), 9);
    uint16_t v = 0;
    EXPECT_EQ(modbus_read_registers(c.get(), 0, 1, &v), -1);
    EXPECT_EQ(errno, ETIMEDOUT);
}

TEST_F(SimTcp, IllegalHolesGiveIllegalAddress) {
    TcpClient c(port_);
    ASSERT_TRUE(c.connected());
    modbus_set_slave(c.get(), 2);
    uint16_t v[2] = {};
    ASSERT_EQ(modbus_read_registers(c.get(), 0, 1, v), 1);
    EXPECT_EQ(v[0], 4242);
    EXPECT_EQ(modbus_read_registers(c.get(), 0, 2, v), -1);
    EXPECT_EQ(errno, EMBXILADD);
}

TEST_F(SimTcp, UnsupportedFunctionGivesIllegalFunction) {
    TcpClient c(port_);
    ASSERT_TRUE(c.connected());
    modbus_set_slave(c.get(), 1);
    uint8_t id[64] = {};
    EXPECT_EQ(modbus_report_slave_id(c.get(), sizeof(id), id), -1);
    EXPECT_EQ(errno, EMBXILFUN);
}

TEST_F(SimTcp, WritesAreReadBack) {
    TcpClient c(port_);
    ASSERT_TRUE(c.connected());
    modbus_set_slave(c.get(), 1);
    ASSERT_EQ(modbus_write_register(c.get(), 100, 0xBEEF), 1);
    const uint16_t many[3] = {1, 2, 3};
    ASSERT_EQ(modbus_write_registers(c.get(), 101, 3, many), 3);
    uint16_t back[4] = {};
    ASSERT_EQ(modbus_read_registers(c.get(), 100, 4, back), 4);
    EXPECT_EQ(back[0], 0xBEEF);
    EXPECT_EQ(back[3], 3);
    ASSERT_EQ(modbus_write_bit(c.get(), 6, 1), 1);
    const uint8_t bits[2] = {1, 1};
    ASSERT_EQ(modbus_write_bits(c.get(), 7, 2, bits), 2);
    uint8_t coils[4] = {};
    ASSERT_EQ(modbus_read_bits(c.get(), 5, 4, coils), 4);
    EXPECT_EQ(coils[0] + coils[1] + coils[2] + coils[3], 4);
}

TEST_F(SimTcp, ServesSeveralClientsAtOnce) {
    TcpClient a(port_);
    TcpClient b(port_);
    ASSERT_TRUE(a.connected());
    ASSERT_TRUE(b.connected());
    modbus_set_slave(a.get(), 1);
    modbus_set_slave(b.get(), 2);
    uint16_t v = 0;
    ASSERT_EQ(modbus_read_registers(b.get(), 0, 1, &v), 1);
    EXPECT_EQ(v, 4242);
    ASSERT_EQ(modbus_read_registers(a.get(), 10, 1, &v), 1);
    EXPECT_EQ(static_cast<int16_t>(v), -1234);
}

TEST_F(SimTcp, PartialFramesAndSeveralRequestsInOneWrite) {
    const int fd = raw_connect(port_);
    ASSERT_GE(fd, 0);
    const Bytes one = tcp_frame(7, 2, Bytes{0x03, 0x00, 0x00, 0x00, 0x01});
    for (uint8_t byte : one) {
        ASSERT_EQ(::write(fd, &byte, 1), 1);
    }
    EXPECT_EQ(read_n(fd, 11, 2000ms), (Bytes{0, 7, 0, 0, 0, 5, 2, 3, 2, 0x10, 0x92}));
    Bytes two = tcp_frame(8, 2, Bytes{0x03, 0x00, 0x00, 0x00, 0x01});
    const Bytes hole = tcp_frame(9, 2, Bytes{0x03, 0x00, 0x01, 0x00, 0x01});
    two.insert(two.end(), hole.begin(), hole.end());
    ASSERT_EQ(::write(fd, two.data(), two.size()), static_cast<ssize_t>(two.size()));
    EXPECT_EQ(read_n(fd, 20, 2000ms), (Bytes{0, 8, 0, 0, 0, 5, 2, 3,    2,   0x10, 0x92,  //
                                             0, 9, 0, 0, 0, 3, 2, 0x83, 0x02}));
    ::close(fd);
}

TEST_F(SimTcp, GarbageMbapClosesTheClient) {
    const int fd = raw_connect(port_);
    ASSERT_GE(fd, 0);
    const Bytes garbage{0x00, 0x01, 0x12, 0x34, 0x00, 0x06, 0x01, 0x03, 0, 0, 0, 1};
    ASSERT_EQ(::write(fd, garbage.data(), garbage.size()), static_cast<ssize_t>(garbage.size()));
    pollfd p{fd, POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 2000), 1);
    uint8_t b = 0;
    EXPECT_EQ(::read(fd, &b, 1), 0);  // closed without an answer
    ::close(fd);
    // The server keeps serving others.
    TcpClient c(port_);
    ASSERT_TRUE(c.connected());
    modbus_set_slave(c.get(), 2);
    uint16_t v = 0;
    EXPECT_EQ(modbus_read_registers(c.get(), 0, 1, &v), 1);
}

TEST_F(SimTcp, PortInUseFailsNamingTheServer) {
    Simulator second(tcp_config(port_));
    const Status s = second.start();
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().message.find("tcp-test"), std::string::npos) << s.error().message;
    EXPECT_NE(s.error().message.find("in use"), std::string::npos) << s.error().message;
}

TEST_F(SimTcp, StopIsPromptAndFreesThePort) {
    const auto t0 = std::chrono::steady_clock::now();
    sim_->stop();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
    Simulator again(tcp_config(port_));
    const Status s = again.start();
    EXPECT_TRUE(s.ok()) << s.error().message;
}

TEST(SimCli, ReturnsOneWhenAServerCannotStart) {
    Simulator holder(tcp_config(0));
    ASSERT_TRUE(holder.start().ok());
    std::atomic<bool> stop{true};
    EXPECT_EQ(run_simulator_cli(tcp_config(holder.tcp_port(0)), stop), 1);
}

TEST(SimCli, ReturnsZeroOnCleanStop) {
    std::atomic<bool> stop{false};
    int rc = -1;
    std::thread runner([&] { rc = run_simulator_cli(tcp_config(0), stop); });
    stop = true;
    runner.join();
    EXPECT_EQ(rc, 0);
}

}  // namespace
}  // namespace kaa::sim
