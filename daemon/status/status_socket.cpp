// The status socket's server thread and its client.
#include "daemon/status/status_socket.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace kaa::status {
namespace {

constexpr const char* kStatusLog = "status";
/// A client that does not take its document within this time is dropped.
constexpr auto kClientTimeout = std::chrono::seconds(2);

/// Fills `addr` for `path`; false when the path does not fit.
bool socket_address(const std::string& path, sockaddr_un& addr) {
    std::memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof addr.sun_path)
        return false;
    std::memcpy(addr.sun_path, path.data(), path.size());
    return true;
}

/// Sets send and receive timeouts on `fd`.
void set_timeouts(int fd, std::chrono::milliseconds timeout) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

/// True when a server answers on the socket at `addr`.
bool someone_listens(const sockaddr_un& addr) {
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    const bool live = connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
    close(fd);
    return live;
}

Error socket_error(const std::string& what, const std::string& path, int err) {
    return Error{ErrorKind::kIo, fmt::format("{} {}: {}", what, path, std::strerror(err)), err};
}

}  // namespace

Result<std::unique_ptr<StatusServer>> StatusServer::start(const std::string& path) {
    sockaddr_un addr{};
    if (!socket_address(path, addr))
        return make_error(ErrorKind::kInvalidArgument,
                          fmt::format("status socket path '{}' is too long", path));
    struct stat st {};
    if (lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return make_error(ErrorKind::kIo,
                              fmt::format("status socket {} exists and is not a socket; remove it "
                                          "or set status.socket to another path",
                                          path));
        if (someone_listens(addr))
            return make_error(ErrorKind::kIo,
                              fmt::format("status socket {} is served by another process (a "
                                          "second kaa-gatewayd?)",
                                          path));
        unlink(path.c_str());  // left by a daemon that did not stop cleanly
    }
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return socket_error("cannot make the status socket", path, errno);
    if (bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        const int err = errno;
        close(fd);
        return socket_error("cannot create the status socket", path, err);
    }
    // Readable by the service's group only (kaa-gateway): the status names meters and buses.
    chmod(path.c_str(), 0660);
    if (listen(fd, 8) != 0) {
        const int err = errno;
        close(fd);
        unlink(path.c_str());
        return socket_error("cannot listen on the status socket", path, err);
    }
    const int wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake < 0) {
        const int err = errno;
        close(fd);
        unlink(path.c_str());
        return socket_error("cannot serve the status socket", path, err);
    }
    std::unique_ptr<StatusServer> server(new StatusServer(path, fd, wake));
    server->thread_ = std::thread([s = server.get()] { s->run(); });
    return server;
}

StatusServer::StatusServer(std::string path, int listen_fd, int wake_fd)
    : path_(std::move(path)),
      listen_fd_(listen_fd),
      wake_fd_(wake_fd),
      document_(std::make_shared<const std::string>("{}\n")) {}

StatusServer::~StatusServer() {
    const uint64_t one = 1;
    if (write(wake_fd_, &one, sizeof one) < 0)
        spdlog::debug("{}: cannot wake the status thread: {}", kStatusLog, std::strerror(errno));
    if (thread_.joinable())
        thread_.join();
    close(listen_fd_);
    close(wake_fd_);
    unlink(path_.c_str());
}

void StatusServer::publish(std::string document) {
    auto next = std::make_shared<const std::string>(std::move(document));
    std::lock_guard lock(mutex_);
    document_ = std::move(next);
}

uint64_t StatusServer::served() const {
    std::lock_guard lock(mutex_);
    return served_;
}

void StatusServer::run() {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    for (;;) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            spdlog::error("{}: the status socket {} stops serving: {}", kStatusLog, path_,
                          std::strerror(errno));
            return;
        }
        if (fds[1].revents != 0)
            return;
        if ((fds[0].revents & POLLIN) == 0)
            continue;
        const int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (client < 0)
            continue;  // gone already, or out of descriptors for a moment
        serve(client);
        close(client);
    }
}

void StatusServer::serve(int client) {
    std::shared_ptr<const std::string> doc;
    {
        std::lock_guard lock(mutex_);
        doc = document_;
        ++served_;
    }
    set_timeouts(client, kClientTimeout);
    size_t sent = 0;
    while (sent < doc->size()) {
        const ssize_t n = send(client, doc->data() + sent, doc->size() - sent, MSG_NOSIGNAL);
        if (n <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            return;  // the client left or is too slow: its loss
        }
        sent += static_cast<size_t>(n);
    }
}

Result<std::string> read_status(const std::string& path, std::chrono::milliseconds timeout) {
    sockaddr_un addr{};
    if (!socket_address(path, addr))
        return make_error(ErrorKind::kInvalidArgument,
                          fmt::format("status socket path '{}' is too long", path));
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return socket_error("cannot make a socket for", path, errno);
    set_timeouts(fd, timeout);
    if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        const int err = errno;
        close(fd);
        std::string hint;
        if (err == ENOENT || err == ECONNREFUSED)
            hint = "; is kaa-gatewayd running? (systemctl status kaa-gateway)";
        else if (err == EACCES || err == EPERM)
            hint = "; run it as root or as a member of group kaa-gateway";
        return make_error(
            ErrorKind::kIo,
            fmt::format("cannot reach the status socket {}: {}{}", path, std::strerror(err), hint),
            err);
    }
    std::string out;
    char buf[65536];
    for (;;) {
        const ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n == 0)
            break;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            const int err = errno;
            close(fd);
            return make_error(ErrorKind::kTimeout,
                              fmt::format("the status socket {} did not answer in {} ms: {}", path,
                                          timeout.count(), std::strerror(err)),
                              err);
        }
        out.append(buf, static_cast<size_t>(n));
        if (out.size() > kMaxStatusBytes) {
            close(fd);
            return make_error(
                ErrorKind::kBadResponse,
                fmt::format("the status socket {} sent more than {} bytes", path, kMaxStatusBytes));
        }
    }
    close(fd);
    return out;
}

}  // namespace kaa::status
