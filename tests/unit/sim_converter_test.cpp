// The simulated TCP-to-RTU converter: serial timing, one connection and one request at a
// time, and replies with a wrong transaction or unit id every n-th time.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <vector>

#include "config/sim_config_loader.hpp"
#include "drivers/simulator/converter_line.hpp"
#include "drivers/simulator/modbus_frame.hpp"
#include "drivers/simulator/simulator.hpp"

namespace kaa::sim {
namespace {

using Bytes = std::vector<uint8_t>;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

/// The PDU of a read of one holding register at `address`.
Bytes read_one(uint16_t address) {
    return {kReadHoldingRegisters, static_cast<uint8_t>(address >> 8),
            static_cast<uint8_t>(address & 0xFF), 0, 1};
}

TEST(SimConverterLine, AnExchangeTakesItsRtuFramesAndSilences) {
    // A read of one register: 8 request bytes, 7 reply bytes, 3.5 characters after each,
    // 10 bits a character at 9600 baud.
    EXPECT_EQ(exchange_time(9600, 5, 4), microseconds(11979 + 10937));
    EXPECT_EQ(exchange_time(9600, 5, 0), microseconds(11979));
    EXPECT_LT(exchange_time(115200, 5, 4), exchange_time(9600, 5, 4) / 10);
}

TEST(SimConverterLine, EveryNthReplyGetsAWrongIdAndTheMarkerWords) {
    config::SimConverterConfig c;
    c.wrong_id_every = 3;
    c.wrong_id_word = 0x5555;
    WrongIdInjector injector(c);
    const Bytes pdu = {kReadHoldingRegisters, 4, 0x12, 0x34, 0xAB, 0xCD};
    EXPECT_EQ(injector.frame(7, 2, pdu), tcp_frame(7, 2, pdu));
    EXPECT_EQ(injector.frame(8, 2, pdu), tcp_frame(8, 2, pdu));
    const Bytes spoiled = {kReadHoldingRegisters, 4, 0x55, 0x55, 0x55, 0x55};
    EXPECT_EQ(injector.frame(9, 2, pdu), tcp_frame(9 + 0x1000, 2, spoiled));
    EXPECT_EQ(injector.spoiled(), 1u);
    c.wrong_id = config::SimWrongId::kUnit;
    c.wrong_id_every = 1;
    WrongIdInjector by_unit(c);
    EXPECT_EQ(by_unit.frame(9, 247, pdu), tcp_frame(9, 1, spoiled));
    const Bytes exception = exception_response(kReadHoldingRegisters, kIllegalDataAddress);
    EXPECT_EQ(by_unit.frame(10, 2, exception), tcp_frame(10, 3, exception));
    config::SimConverterConfig never;
    WrongIdInjector honest(never);
    for (uint16_t t = 0; t < 100; ++t)
        EXPECT_EQ(honest.frame(t, 2, pdu), tcp_frame(t, 2, pdu));
}

/// A connected TCP socket to 127.0.0.1:port, or -1.
int connect_to(uint16_t port) {
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

/// Exactly n bytes, or fewer when the peer closes or the deadline passes.
Bytes read_n(int fd, size_t n, milliseconds deadline) {
    Bytes out;
    const auto end = SteadyClock::now() + deadline;
    while (out.size() < n) {
        const auto left = std::chrono::duration_cast<milliseconds>(end - SteadyClock::now());
        pollfd p{fd, POLLIN, 0};
        if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0)
            break;
        uint8_t buf[256];
        const ssize_t got = ::read(fd, buf, std::min(sizeof(buf), n - out.size()));
        if (got <= 0)
            break;
        out.insert(out.end(), buf, buf + got);
    }
    return out;
}

/// A converter at 1200 baud (an exchange of ~190 ms: long enough to measure) with units 2
/// and 7, every 2nd reply with a wrong transaction id.
class SimConverter : public ::testing::Test {
  protected:
    void SetUp() override {
        const auto loaded = config::load_sim_config_text(
            "servers:\n"
            "  - name: converter\n"
            "    tcp: {host: 127.0.0.1, port: 1502}\n"
            "    converter: {baud: 1200, wrong_id_every: 2, wrong_id_word: 0x5555}\n"
            "    units:\n"
            "      - {unit: 2, registers: [{address: 0, type: uint16, value: 1111}]}\n"
            "      - {unit: 7, registers: [{address: 0, type: uint16, value: 2222}]}\n",
            "sim.yaml");
        ASSERT_TRUE(loaded.config) << (loaded.errors.empty() ? "" : loaded.errors[0].to_string());
        config::SimConfig c = *loaded.config;
        std::get<config::TcpLink>(c.servers[0].link).port = 0;  // any free port
        sim_ = std::make_unique<Simulator>(c);
        const Status s = sim_->start();
        ASSERT_TRUE(s.ok()) << s.error().message;
        port_ = sim_->tcp_port(0);
        ASSERT_NE(port_, 0);
    }
    std::unique_ptr<Simulator> sim_;
    uint16_t port_ = 0;
};

TEST_F(SimConverter, OneRequestAtATimeAtTheLinesPaceAndEverySecondReplyWrong) {
    const int fd = connect_to(port_);
    ASSERT_GE(fd, 0);
    const auto one = exchange_time(1200, 5, 4);
    Bytes both = tcp_frame(1, 2, read_one(0));
    const Bytes second = tcp_frame(2, 7, read_one(0));
    both.insert(both.end(), second.begin(), second.end());
    const auto sent = SteadyClock::now();
    ASSERT_EQ(::send(fd, both.data(), both.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(both.size()));
    const Bytes first_reply = read_n(fd, 11, milliseconds(2000));
    const auto first_at = SteadyClock::now();
    EXPECT_EQ(
        first_reply,
        tcp_frame(1, 2, registers_response(kReadHoldingRegisters, std::vector<uint16_t>{1111})));
    const Bytes second_reply = read_n(fd, 11, milliseconds(2000));
    const auto second_at = SteadyClock::now();
    // The second request waited for the line: its reply comes one exchange after the first.
    EXPECT_GE(first_at - sent, one - milliseconds(5));
    EXPECT_GE(second_at - sent, 2 * one - milliseconds(5));
    EXPECT_EQ(second_reply,
              tcp_frame(2 + 0x1000, 7,
                        registers_response(kReadHoldingRegisters, std::vector<uint16_t>{0x5555})));
    ::close(fd);
}

TEST_F(SimConverter, ASecondConnectionIsClosedWhileTheFirstIsOpen) {
    const int first = connect_to(port_);
    ASSERT_GE(first, 0);
    const Bytes request = tcp_frame(5, 2, read_one(0));
    ASSERT_EQ(::send(first, request.data(), request.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(request.size()));
    ASSERT_EQ(read_n(first, 11, milliseconds(2000)).size(), 11u);  // the first is served
    const int second = connect_to(port_);
    ASSERT_GE(second, 0);  // accepted by the kernel, then closed by the converter
    ::send(second, request.data(), request.size(), MSG_NOSIGNAL);
    EXPECT_TRUE(read_n(second, 11, milliseconds(1000)).empty());
    ::close(second);
    ::close(first);
    // Once the converter has seen the first go, a new connection is served.
    bool served = false;
    for (int attempt = 0; attempt < 20 && !served; ++attempt) {
        const int next = connect_to(port_);
        ASSERT_GE(next, 0);
        ::send(next, request.data(), request.size(), MSG_NOSIGNAL);
        served = read_n(next, 11, milliseconds(500)).size() == 11u;
        ::close(next);
    }
    EXPECT_TRUE(served);
}

}  // namespace
}  // namespace kaa::sim
