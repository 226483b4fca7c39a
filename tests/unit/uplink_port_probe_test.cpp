// The probe that tells a plain MQTT port from a TLS one, against small loopback servers
// that answer like a broker, like a TLS listener, or not at all.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <thread>
#include <vector>

#include "daemon/kaa/port_probe.hpp"

namespace kaa::uplink {
namespace {

using std::chrono::milliseconds;

/// A one-connection TCP server on 127.0.0.1 that reads the probe's CONNECT, then sends
/// `answer` and closes (or, with hold, keeps the connection open silently until it ends).
class OneShotServer {
  public:
    OneShotServer(std::vector<uint8_t> answer, bool hold = false) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
        socklen_t len = sizeof(addr);
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
        EXPECT_EQ(::listen(fd_, 1), 0);
        thread_ = std::thread([this, answer = std::move(answer), hold] {
            const int c = ::accept(fd_, nullptr, nullptr);
            if (c < 0)
                return;
            std::array<uint8_t, 14> connect{};
            size_t got = 0;
            while (got < connect.size()) {
                const ssize_t n = ::recv(c, connect.data() + got, connect.size() - got, 0);
                if (n <= 0)
                    break;
                got += static_cast<size_t>(n);
            }
            first_byte_ = got > 0 ? connect[0] : 0;
            if (!answer.empty())
                (void)!::send(c, answer.data(), answer.size(), MSG_NOSIGNAL);
            if (hold) {
                std::array<uint8_t, 16> sink{};
                while (::recv(c, sink.data(), sink.size(), 0) > 0) {
                }
            }
            ::close(c);
        });
    }
    ~OneShotServer() {
        ::shutdown(fd_, SHUT_RDWR);
        thread_.join();
        ::close(fd_);
    }
    int port() const { return port_; }
    uint8_t first_byte() const { return first_byte_; }

  private:
    int fd_ = -1;
    int port_ = 0;
    uint8_t first_byte_ = 0;
    std::thread thread_;
};

TEST(PortProbe, ACONNACKMeansPlainMqtt) {
    OneShotServer broker({0x20, 0x02, 0x00, 0x05});  // CONNACK "not authorised" counts too
    EXPECT_EQ(probe_port("127.0.0.1", broker.port(), milliseconds(2000)), PortAnswer::kPlainMqtt);
}

TEST(PortProbe, ATlsAlertOrASilentCloseMeansTls) {
    {
        OneShotServer tls({0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46});
        EXPECT_EQ(probe_port("127.0.0.1", tls.port(), milliseconds(2000)),
                  PortAnswer::kTlsOrSilent);
        EXPECT_EQ(tls.first_byte(), 0x10) << "the probe sends an MQTT CONNECT";
    }
    OneShotServer closes({});
    EXPECT_EQ(probe_port("127.0.0.1", closes.port(), milliseconds(2000)), PortAnswer::kTlsOrSilent);
}

TEST(PortProbe, NothingListeningOrNoAnswerInTimeIsNoConnection) {
    int port = 0;
    {
        OneShotServer gone({});
        port = gone.port();
        EXPECT_EQ(probe_port("127.0.0.1", port, milliseconds(2000)), PortAnswer::kTlsOrSilent);
    }
    EXPECT_EQ(probe_port("127.0.0.1", port, milliseconds(500)), PortAnswer::kNoConnection);
    OneShotServer silent({}, /*hold=*/true);
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(probe_port("127.0.0.1", silent.port(), milliseconds(300)), PortAnswer::kNoConnection);
    EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(2000));
    OneShotServer http({'H', 'T', 'T', 'P', '/', '1', '.', '1'});
    EXPECT_EQ(probe_port("127.0.0.1", http.port(), milliseconds(2000)), PortAnswer::kNoConnection);
}

TEST(PortProbe, HintsOnlyForAMismatch) {
    EXPECT_EQ(port_hint("mqtt.example", 8883, false, PortAnswer::kTlsOrSilent),
              "port 8883 on mqtt.example looks like TLS (it closed the connection at the MQTT "
              "CONNECT): set kaa.tls (ca_file), or set kaa.port to the broker's plain MQTT port "
              "(usually 1883)");
    EXPECT_EQ(port_hint("mqtt.example", 1883, true, PortAnswer::kPlainMqtt),
              "port 1883 on mqtt.example is plain MQTT, but kaa.tls is set: remove kaa.tls, or "
              "set kaa.port to the broker's TLS port (usually 8883)");
    EXPECT_EQ(port_hint("h", 1883, false, PortAnswer::kPlainMqtt), "");
    EXPECT_EQ(port_hint("h", 8883, true, PortAnswer::kTlsOrSilent), "");
    EXPECT_EQ(port_hint("h", 8883, true, PortAnswer::kNoConnection), "");
    EXPECT_EQ(port_hint("h", 1883, false, PortAnswer::kNoConnection), "");
}

}  // namespace
}  // namespace kaa::uplink
