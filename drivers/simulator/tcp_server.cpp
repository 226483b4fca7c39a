#include "drivers/simulator/tcp_server.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "drivers/simulator/modbus_frame.hpp"
#include "drivers/simulator/tcp_listener.hpp"

namespace kaa::sim {
namespace {

constexpr int kPollMs = 100;
constexpr size_t kMaxClients = 256;
constexpr size_t kMaxPendingOutput = 1 << 20;
constexpr size_t kReadChunk = 4096;

}  // namespace

TcpServer::TcpServer(std::string name, config::TcpLink link, UnitSet& units)
    : name_(std::move(name)), link_(std::move(link)), units_(units) {}

TcpServer::~TcpServer() {
    close_clients();
    if (listener_.fd >= 0) {
        ::close(listener_.fd);
    }
}

std::string TcpServer::describe() const {
    return "tcp " + listen_address(link_, listener_);
}

Status TcpServer::open() {
    return open_listener(listener_, name_, link_, describe());
}

void TcpServer::serve(const std::atomic<bool>& stop) {
    std::vector<pollfd> fds;
    while (!stop.load()) {
        fds.clear();
        fds.push_back({listener_.fd, POLLIN, 0});
        for (const Client& c : clients_) {
            const short events = static_cast<short>(POLLIN | (c.out.empty() ? 0 : POLLOUT));
            fds.push_back({c.fd, events, 0});
        }
        const int ready = ::poll(fds.data(), fds.size(), kPollMs);
        if (ready < 0) {
            if (errno == EINTR) {
                continue;
            }
            spdlog::error("simulate: {} poll failed: {}", describe(), std::strerror(errno));
            break;
        }
        if (ready == 0) {
            continue;
        }
        // Clients first, by index: fds[i + 1] belongs to clients_[i].
        std::vector<bool> keep(clients_.size(), true);
        for (size_t i = 0; i < clients_.size(); ++i) {
            const short revents = fds[i + 1].revents;
            Client& c = clients_[i];
            if (revents & POLLNVAL) {
                keep[i] = false;
                continue;
            }
            if (revents & (POLLIN | POLLHUP | POLLERR)) {
                keep[i] = receive(c);
            }
            if (keep[i] && !c.out.empty()) {
                keep[i] = flush(c);
            }
        }
        std::vector<Client> alive;
        alive.reserve(clients_.size());
        for (size_t i = 0; i < clients_.size(); ++i) {
            if (keep[i]) {
                alive.push_back(std::move(clients_[i]));
            } else {
                spdlog::debug("simulate: {} client {} closed", describe(), clients_[i].peer);
                ::close(clients_[i].fd);
            }
        }
        clients_ = std::move(alive);
        if (fds[0].revents & POLLIN) {
            accept_clients();
        }
    }
    close_clients();
}

void TcpServer::accept_clients() {
    for (;;) {
        sockaddr_storage addr{};
        socklen_t len = sizeof(addr);
        const int fd = ::accept4(listener_.fd, reinterpret_cast<sockaddr*>(&addr), &len,
                                 SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            return;
        }
        if (clients_.size() >= kMaxClients) {
            ::close(fd);
            continue;
        }
        const int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        Client c;
        c.fd = fd;
        c.peer = peer_name(addr);
        spdlog::debug("simulate: {} client {} connected", describe(), c.peer);
        clients_.push_back(std::move(c));
    }
}

bool TcpServer::receive(Client& c) {
    uint8_t chunk[kReadChunk];
    const ssize_t n = ::read(c.fd, chunk, sizeof(chunk));
    if (n == 0) {
        return false;
    }
    if (n < 0) {
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    }
    c.in.insert(c.in.end(), chunk, chunk + n);
    size_t used = 0;
    for (;;) {
        const std::span<const uint8_t> rest(c.in.data() + used, c.in.size() - used);
        const TcpScan scan = scan_tcp(rest);
        if (scan.status == ScanStatus::kNeedMore) {
            break;
        }
        if (scan.status == ScanStatus::kInvalid) {
            spdlog::debug("simulate: {} client {} sent an invalid MBAP header", describe(), c.peer);
            return false;
        }
        const auto frame = rest.first(scan.length);
        const auto reply = units_.answer(scan.unit, tcp_pdu(frame));
        if (reply) {
            const auto bytes = tcp_frame(scan.transaction, scan.unit, *reply);
            c.out.insert(c.out.end(), bytes.begin(), bytes.end());
        }
        used += scan.length;
    }
    c.in.erase(c.in.begin(), c.in.begin() + static_cast<std::ptrdiff_t>(used));
    return c.out.size() <= kMaxPendingOutput;
}

bool TcpServer::flush(Client& c) {
    while (!c.out.empty()) {
        const ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
        if (n < 0) {
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
        }
        c.out.erase(c.out.begin(), c.out.begin() + n);
    }
    return true;
}

void TcpServer::close_clients() {
    for (const Client& c : clients_) {
        ::close(c.fd);
    }
    clients_.clear();
}

}  // namespace kaa::sim
