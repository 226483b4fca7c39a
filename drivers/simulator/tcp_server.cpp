#include "drivers/simulator/tcp_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
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

namespace kaa::sim {
namespace {

constexpr int kPollMs = 100;
constexpr size_t kMaxClients = 256;
constexpr size_t kMaxPendingOutput = 1 << 20;
constexpr size_t kReadChunk = 4096;

std::string format_host_port(const std::string& host, uint16_t port) {
    if (host.find(':') != std::string::npos) {
        return fmt::format("[{}]:{}", host, port);
    }
    return fmt::format("{}:{}", host, port);
}

std::string peer_name(const sockaddr_storage& addr) {
    char host[INET6_ADDRSTRLEN] = {0};
    uint16_t port = 0;
    if (addr.ss_family == AF_INET) {
        const auto* a = reinterpret_cast<const sockaddr_in*>(&addr);
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
        port = ntohs(a->sin_port);
    } else if (addr.ss_family == AF_INET6) {
        const auto* a = reinterpret_cast<const sockaddr_in6*>(&addr);
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
        port = ntohs(a->sin6_port);
    }
    return format_host_port(host, port);
}

}  // namespace

TcpServer::TcpServer(std::string name, config::TcpLink link, UnitSet& units)
    : name_(std::move(name)), link_(std::move(link)), units_(units) {}

TcpServer::~TcpServer() {
    close_clients();
    if (listen_fd_ >= 0) {
        ::close(listen_fd_);
    }
}

std::string TcpServer::describe() const {
    const std::string host = link_.host.empty() ? "0.0.0.0" : link_.host;
    return "tcp " + format_host_port(host, listen_fd_ >= 0 ? port_ : link_.port);
}

Status TcpServer::open() {
    const std::string where = describe();
    if (link_.port < 0 || link_.port > 65535) {
        return make_error(ErrorKind::kInvalidArgument,
                          fmt::format("simulator server '{}': invalid port in {}", name_, where));
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* found = nullptr;
    const std::string service = std::to_string(link_.port);
    const int gai = getaddrinfo(link_.host.empty() ? nullptr : link_.host.c_str(), service.c_str(),
                                &hints, &found);
    if (gai != 0) {
        return make_error(ErrorKind::kIo,
                          fmt::format("simulator server '{}': cannot resolve {}: {}", name_, where,
                                      gai_strerror(gai)));
    }
    int err = 0;
    for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
        const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                                ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        const int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (::bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && ::listen(fd, 64) == 0) {
            listen_fd_ = fd;
            break;
        }
        err = errno;
        ::close(fd);
    }
    freeaddrinfo(found);
    if (listen_fd_ < 0) {
        return make_error(ErrorKind::kIo,
                          fmt::format("simulator server '{}': cannot listen on {}: {}", name_,
                                      where, std::strerror(err)),
                          err);
    }
    sockaddr_storage bound{};
    socklen_t len = sizeof(bound);
    if (getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &len) == 0) {
        port_ = bound.ss_family == AF_INET6
                    ? ntohs(reinterpret_cast<const sockaddr_in6*>(&bound)->sin6_port)
                    : ntohs(reinterpret_cast<const sockaddr_in*>(&bound)->sin_port);
    }
    return {};
}

void TcpServer::serve(const std::atomic<bool>& stop) {
    std::vector<pollfd> fds;
    while (!stop.load()) {
        fds.clear();
        fds.push_back({listen_fd_, POLLIN, 0});
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
        const int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len,
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
