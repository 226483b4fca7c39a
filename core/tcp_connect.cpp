// TCP connections with a deadline.
#include "core/tcp_connect.hpp"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace kaa {
namespace {

/// Milliseconds left until `deadline`, at least 0.
int ms_left(ProbeClock::time_point deadline) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - ProbeClock::now());
    return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

/// A non-blocking socket connected to the address, or -1.
int connect_address(const addrinfo& ai, ProbeClock::time_point deadline) {
    const int fd =
        ::socket(ai.ai_family, ai.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai.ai_protocol);
    if (fd < 0)
        return -1;
    if (::connect(fd, ai.ai_addr, ai.ai_addrlen) == 0)
        return fd;
    int err = errno;
    if (err == EINPROGRESS && wait_for_fd(fd, POLLOUT, deadline)) {
        socklen_t len = sizeof(err);
        if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)
            return fd;
    }
    ::close(fd);
    return -1;
}

}  // namespace

bool wait_for_fd(int fd, short events, ProbeClock::time_point deadline) {
    pollfd p{fd, events, 0};
    while (true) {
        const int n = ::poll(&p, 1, ms_left(deadline));
        if (n > 0)
            return true;
        if (n == 0 || errno != EINTR)
            return false;
    }
}

int connect_tcp(const std::string& host, int port, ProbeClock::time_point deadline) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0)
        return -1;
    int fd = -1;
    for (const addrinfo* ai = found; ai != nullptr && fd < 0; ai = ai->ai_next)
        fd = connect_address(*ai, deadline);
    ::freeaddrinfo(found);
    return fd;
}

}  // namespace kaa
