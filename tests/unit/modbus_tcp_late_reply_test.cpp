// The Modbus TCP transport against a scripted peer on loopback: a reply that comes after
// the timeout is discarded before the next request, never taken as its answer (the
// FIONREAD check that is skipped only after a clean exchange).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include "drivers/modbus/libmodbus_transport.hpp"

namespace kaa::modbus {
namespace {

using std::chrono::milliseconds;

/// Reads exactly `n` bytes; false when the peer closed first.
bool read_exactly(int fd, uint8_t* buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        const ssize_t r = ::recv(fd, buf + got, n - got, 0);
        if (r <= 0)
            return false;
        got += static_cast<size_t>(r);
    }
    return true;
}

/// The reply to a read of one holding register, with the request's transaction id.
std::vector<uint8_t> one_register_reply(const std::array<uint8_t, 12>& request, uint16_t value) {
    return {request[0],
            request[1],
            0,
            0,
            0,
            5,
            request[6],
            3,
            2,
            static_cast<uint8_t>(value >> 8),
            static_cast<uint8_t>(value & 0xFF)};
}

/// A one-connection Modbus TCP peer that answers each request as its script says.
class ScriptedPeer {
  public:
    /// For request i: how long to wait before answering, and the value to answer.
    struct Answer {
        milliseconds delay;
        uint16_t value;
    };

    explicit ScriptedPeer(std::vector<Answer> script) : script_(std::move(script)) {
        listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(listener_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
        ::listen(listener_, 1);
        socklen_t len = sizeof addr;
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    ~ScriptedPeer() {
        ::shutdown(listener_, SHUT_RDWR);
        ::close(listener_);
        thread_.join();
    }
    int port() const { return port_; }
    /// Replies sent so far (on loopback a sent reply is in the transport's input at once).
    int answered() const { return answered_.load(); }

  private:
    void serve() {
        const int fd = ::accept(listener_, nullptr, nullptr);
        if (fd < 0)
            return;
        for (const Answer& a : script_) {
            std::array<uint8_t, 12> request{};
            if (!read_exactly(fd, request.data(), request.size()))
                break;
            std::this_thread::sleep_for(a.delay);  // the peer's own pace, not the test's wait
            const std::vector<uint8_t> reply = one_register_reply(request, a.value);
            ::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
            ++answered_;
        }
        std::array<uint8_t, 12> rest{};
        read_exactly(fd, rest.data(), rest.size());  // until the transport closes
        ::close(fd);
    }

    std::vector<Answer> script_;
    int listener_ = -1;
    int port_ = 0;
    std::atomic<int> answered_{0};
    std::thread thread_;
};

config::BusConfig tcp_bus(int port) {
    config::BusConfig bus;
    bus.name = "late";
    bus.link = config::TcpLink{"127.0.0.1", port};
    bus.timeout = milliseconds(100);
    return bus;
}

TEST(ModbusTcpLateReply, ALateReplyIsDiscardedBeforeTheNextRequest) {
    ScriptedPeer peer({{milliseconds(0), 11},    // clean
                       {milliseconds(250), 22},  // after the 100 ms timeout
                       {milliseconds(0), 33},    // must not be answered with 22
                       {milliseconds(0), 44}});  // clean again
    LibmodbusTransport t(tcp_bus(peer.port()));
    ASSERT_TRUE(t.open().ok());
    auto first = t.read(1, config::RegisterFunction::kHolding, 0, 1);
    ASSERT_TRUE(first.ok()) << first.error().message;
    EXPECT_EQ(first.value(), std::vector<uint16_t>{11});
    auto late = t.read(1, config::RegisterFunction::kHolding, 0, 1);
    ASSERT_FALSE(late.ok());
    // The late reply arrives while nothing is asked: wait for it (bounded) before asking.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (peer.answered() < 2 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::yield();
    ASSERT_EQ(peer.answered(), 2) << "the late reply was never sent";
    auto third = t.read(1, config::RegisterFunction::kHolding, 0, 1);
    ASSERT_TRUE(third.ok()) << third.error().message;
    EXPECT_EQ(third.value(), std::vector<uint16_t>{33});
    auto fourth = t.read(1, config::RegisterFunction::kHolding, 0, 1);
    ASSERT_TRUE(fourth.ok()) << fourth.error().message;
    EXPECT_EQ(fourth.value(), std::vector<uint16_t>{44});
    EXPECT_EQ(t.wrong_id_replies(), 0u);
    t.close();
}

}  // namespace
}  // namespace kaa::modbus
