// A one-packet MQTT probe of a broker port.
#include "daemon/kaa/port_probe.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>

#include "core/tcp_connect.hpp"

namespace kaa::uplink {
namespace {

// CONNECT, MQTT 3.1.1, clean session, keepalive 10 s, empty client id: any MQTT broker
// answers it with a CONNACK (accepting it or not), a TLS listener cannot parse it.
constexpr std::array<uint8_t, 14> kConnect = {0x10, 12,   0x00, 0x04, 'M',  'Q',  'T',
                                              'T',  0x04, 0x02, 0x00, 0x0a, 0x00, 0x00};
constexpr uint8_t kConnack = 0x20;
constexpr uint8_t kTlsAlert = 0x15;
constexpr uint8_t kTlsHandshake = 0x16;

/// Sends the CONNECT and classifies the first bytes of the answer.
PortAnswer ask(int fd, ProbeClock::time_point deadline) {
    if (::send(fd, kConnect.data(), kConnect.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(kConnect.size())) {
        return PortAnswer::kNoConnection;
    }
    std::array<uint8_t, 2> head{};
    size_t got = 0;
    while (got < head.size() && wait_for_fd(fd, POLLIN, deadline)) {
        const ssize_t n = ::recv(fd, head.data() + got, head.size() - got, 0);
        if (n > 0) {
            got += static_cast<size_t>(n);
        } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
            // Closed (or reset) without a byte: a TLS listener refusing what is not TLS.
            return got == 0 ? PortAnswer::kTlsOrSilent : PortAnswer::kNoConnection;
        }
    }
    if (got < head.size())
        return PortAnswer::kNoConnection;
    if (head[0] == kConnack && head[1] == 2)
        return PortAnswer::kPlainMqtt;
    if ((head[0] == kTlsAlert || head[0] == kTlsHandshake) && head[1] == 3)
        return PortAnswer::kTlsOrSilent;
    return PortAnswer::kNoConnection;
}

}  // namespace

PortAnswer probe_port(const std::string& host, int port, std::chrono::milliseconds timeout) {
    const auto deadline = ProbeClock::now() + timeout;
    const int fd = connect_tcp(host, port, deadline);
    if (fd < 0)
        return PortAnswer::kNoConnection;
    const PortAnswer answer = ask(fd, deadline);
    ::close(fd);
    return answer;
}

std::string port_hint(const std::string& host, int port, bool tls, PortAnswer answer) {
    const std::string where = "port " + std::to_string(port) + " on " + host;
    if (tls && answer == PortAnswer::kPlainMqtt) {
        return where +
               " is plain MQTT, but kaa.tls is set: remove kaa.tls, or set kaa.port to the "
               "broker's TLS port (usually 8883)";
    }
    if (!tls && answer == PortAnswer::kTlsOrSilent) {
        return where +
               " looks like TLS (it closed the connection at the MQTT CONNECT): set kaa.tls "
               "(ca_file), or set kaa.port to the broker's plain MQTT port (usually 1883)";
    }
    return "";
}

}  // namespace kaa::uplink
