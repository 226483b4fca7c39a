// Listening sockets for the simulator's TCP servers.
#include "drivers/simulator/tcp_listener.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace kaa::sim {

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

Result<Listener> listen_tcp(const std::string& server, const config::TcpLink& link,
                            const std::string& where) {
    if (link.port < 0 || link.port > 65535) {
        return make_error(ErrorKind::kInvalidArgument,
                          fmt::format("simulator server '{}': invalid port in {}", server, where));
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* found = nullptr;
    const std::string service = std::to_string(link.port);
    const int gai = getaddrinfo(link.host.empty() ? nullptr : link.host.c_str(), service.c_str(),
                                &hints, &found);
    if (gai != 0) {
        return make_error(ErrorKind::kIo,
                          fmt::format("simulator server '{}': cannot resolve {}: {}", server, where,
                                      gai_strerror(gai)));
    }
    Listener listener;
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
            listener.fd = fd;
            break;
        }
        err = errno;
        ::close(fd);
    }
    freeaddrinfo(found);
    if (listener.fd < 0) {
        return make_error(ErrorKind::kIo,
                          fmt::format("simulator server '{}': cannot listen on {}: {}", server,
                                      where, std::strerror(err)),
                          err);
    }
    sockaddr_storage bound{};
    socklen_t len = sizeof(bound);
    if (getsockname(listener.fd, reinterpret_cast<sockaddr*>(&bound), &len) == 0) {
        listener.port = bound.ss_family == AF_INET6
                            ? ntohs(reinterpret_cast<const sockaddr_in6*>(&bound)->sin6_port)
                            : ntohs(reinterpret_cast<const sockaddr_in*>(&bound)->sin_port);
    }
    return listener;
}

Status open_listener(Listener& out, const std::string& server, const config::TcpLink& link,
                     const std::string& where) {
    Result<Listener> listener = listen_tcp(server, link, where);
    if (!listener.ok())
        return listener.error();
    out = listener.value();
    return {};
}

std::string listen_address(const config::TcpLink& link, const Listener& listener) {
    const std::string host = link.host.empty() ? "0.0.0.0" : link.host;
    return format_host_port(host, listener.fd >= 0 ? listener.port : link.port);
}

}  // namespace kaa::sim
