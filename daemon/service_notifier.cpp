// The sd_notify protocol: each message one datagram to the AF_UNIX socket $NOTIFY_SOCKET.
#include "daemon/service_notifier.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace kaa {
namespace {

/// The environment variable `name`, or "" when it is unset.
std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v == nullptr ? std::string() : std::string(v);
}

/// A whole decimal number, or nullopt.
std::optional<unsigned long long> decimal(const std::string& text) {
    if (text.empty() || text.size() > 20)
        return std::nullopt;
    unsigned long long v = 0;
    for (char c : text) {
        if (c < '0' || c > '9')
            return std::nullopt;
        v = v * 10 + static_cast<unsigned long long>(c - '0');
    }
    return v;
}

}  // namespace

ServiceNotifier::ServiceNotifier() : socket_path_(env("NOTIFY_SOCKET")) {
    // A path fits sun_path (108 bytes with its NUL); systemd never passes a longer one.
    if (socket_path_.size() >= sizeof(sockaddr_un{}.sun_path) ||
        (socket_path_.size() > 0 && socket_path_[0] != '/' && socket_path_[0] != '@')) {
        socket_path_.clear();  // "vsock:" and the like: not for a daemon on this machine
    }
    // WATCHDOG_PID, when set, names the process the watchdog is meant for (sd_watchdog_enabled).
    const auto pid = decimal(env("WATCHDOG_PID"));
    const bool ours =
        env("WATCHDOG_PID").empty() || (pid && *pid == static_cast<unsigned long long>(::getpid()));
    const auto usec = decimal(env("WATCHDOG_USEC"));
    if (ours && usec && *usec > 0)
        watchdog_timeout_ = std::chrono::microseconds(*usec);
}

ServiceNotifier::~ServiceNotifier() {
    if (fd_ >= 0)
        ::close(fd_);
}

void ServiceNotifier::send(const std::string& message) {
    if (socket_path_.empty())
        return;
    if (fd_ < 0) {
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0)
            return;
    }
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, socket_path_.data(), socket_path_.size());
    socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_path_.size());
    if (socket_path_[0] == '@')
        addr.sun_path[0] = '\0';  // abstract: the length says where the name ends
    else
        ++len;  // a path: its NUL counted, as sd_notify does
    // A lost notification is not worth stopping for: systemd's timeouts report it.
    while (::sendto(fd_, message.data(), message.size(), MSG_NOSIGNAL,
                    reinterpret_cast<const sockaddr*>(&addr), len) < 0 &&
           errno == EINTR) {
    }
}

void ServiceNotifier::ready() {
    send("READY=1");
}

void ServiceNotifier::status(const std::string& text) {
    if (text == last_status_)
        return;
    last_status_ = text;
    send("STATUS=" + text);
}

void ServiceNotifier::watchdog() {
    send("WATCHDOG=1");
}

void ServiceNotifier::reloading() {
    // MONOTONIC_USEC lets systemd tell this reload from an older one (sd_notify(3),
    // Type=notify-reload in systemd.service(5)); older systemd versions ignore it.
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    const auto usec = static_cast<unsigned long long>(now.tv_sec) * 1000000ull +
                      static_cast<unsigned long long>(now.tv_nsec) / 1000ull;
    send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

void ServiceNotifier::stopping() {
    send("STOPPING=1");
}

std::optional<std::chrono::microseconds> ServiceNotifier::watchdog_interval() const {
    if (!watchdog_timeout_)
        return std::nullopt;
    return *watchdog_timeout_ / 2;
}

}  // namespace kaa
