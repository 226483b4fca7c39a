// A simulated TCP-to-RTU converter: one connection, one request at a time, serial timing.
#include "drivers/simulator/converter_server.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "drivers/simulator/modbus_frame.hpp"
#include "drivers/simulator/tcp_listener.hpp"

namespace kaa::sim {
namespace {

constexpr std::chrono::milliseconds kConverterPoll{100};
constexpr size_t kConverterReadChunk = 4096;
/// A converter's buffer for requests waiting for the line; a client that floods it is dropped.
constexpr size_t kMaxQueuedBytes = 64 * 1024;

}  // namespace

ConverterServer::ConverterServer(std::string name, config::TcpLink link,
                                 config::SimConverterConfig converter, UnitSet& units)
    : name_(std::move(name)),
      link_(std::move(link)),
      converter_(converter),
      units_(units),
      injector_(converter) {}

ConverterServer::~ConverterServer() {
    if (client_fd_ >= 0) {
        ::close(client_fd_);
    }
    if (listener_.fd >= 0) {
        ::close(listener_.fd);
    }
}

std::string ConverterServer::describe() const {
    return fmt::format("tcp {} (converter at {} baud)", listen_address(link_, listener_),
                       converter_.baud);
}

Status ConverterServer::open() {
    return open_listener(listener_, name_, link_, describe());
}

void ConverterServer::serve(const std::atomic<bool>& stop) {
    while (!stop.load()) {
        auto wait = kConverterPoll;
        if (line_free_at_) {
            const auto left =
                std::chrono::ceil<std::chrono::milliseconds>(*line_free_at_ - SteadyClock::now());
            wait = std::clamp(left, std::chrono::milliseconds(0), kConverterPoll);
        }
        pollfd fds[2] = {{listener_.fd, POLLIN, 0}, {client_fd_, POLLIN, 0}};
        const int ready = ::poll(fds, client_fd_ >= 0 ? 2 : 1, static_cast<int>(wait.count()));
        if (ready < 0 && errno != EINTR) {
            spdlog::error("simulate: {} poll failed: {}", describe(), std::strerror(errno));
            break;
        }
        if (client_fd_ >= 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) && !receive()) {
            drop_client("closed by the client");
        }
        if (line_free_at_ && SteadyClock::now() >= *line_free_at_ && !send_reply()) {
            drop_client("could not send");
        }
        if (!line_free_at_) {
            start_next_request();
        }
        if (fds[0].revents & POLLIN) {
            accept_client();
        }
    }
    if (client_fd_ >= 0) {
        ::close(client_fd_);
        client_fd_ = -1;
    }
}

void ConverterServer::accept_client() {
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    const int fd = ::accept4(listener_.fd, reinterpret_cast<sockaddr*>(&addr), &len,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        return;
    }
    const std::string peer = peer_name(addr);
    if (client_fd_ >= 0) {
        // As converters limited to one connection do: the newcomer is closed at once.
        ::close(fd);
        spdlog::warn("simulate: {} refused a second connection from {} (one at a time; {} has it)",
                     describe(), peer, peer_);
        return;
    }
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    client_fd_ = fd;
    peer_ = peer;
    connected_at_ = SteadyClock::now();
    asked_yet_ = false;
    in_.clear();
    spdlog::info("simulate: {} connection from {}", describe(), peer_);
}

bool ConverterServer::receive() {
    uint8_t chunk[kConverterReadChunk];
    const ssize_t n = ::read(client_fd_, chunk, sizeof(chunk));
    if (n == 0) {
        return false;
    }
    if (n < 0) {
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    }
    in_.insert(in_.end(), chunk, chunk + n);
    return in_.size() <= kMaxQueuedBytes;
}

void ConverterServer::start_next_request() {
    if (client_fd_ < 0) {
        return;
    }
    const TcpScan scan = scan_tcp(in_);
    if (scan.status == ScanStatus::kNeedMore) {
        return;
    }
    if (scan.status == ScanStatus::kInvalid) {
        drop_client("sent an invalid MBAP header");
        return;
    }
    if (!asked_yet_) {
        asked_yet_ = true;
        const auto after = std::chrono::duration_cast<std::chrono::milliseconds>(
            SteadyClock::now() - connected_at_);
        spdlog::info("simulate: {} first request from {} {} ms after it connected", describe(),
                     peer_, after.count());
    }
    const std::span<const uint8_t> frame(in_.data(), scan.length);
    const std::span<const uint8_t> pdu = tcp_pdu(frame);
    auto answer = units_.answer(scan.unit, pdu);
    const size_t reply_bytes = answer ? answer->size() : 0;
    const uint64_t spoiled_before = injector_.spoiled();
    reply_ = answer ? injector_.frame(scan.transaction, scan.unit, std::move(*answer))
                    : std::vector<uint8_t>{};
    if (injector_.spoiled() > spoiled_before) {
        spdlog::info(
            "simulate: {} answers unit {} (transaction {}) with a wrong {} id and words "
            "0x{:04X}: wrong-id reply {}",
            describe(), scan.unit, scan.transaction,
            converter_.wrong_id == config::SimWrongId::kUnit ? "unit" : "transaction",
            converter_.wrong_id_word, injector_.spoiled());
    }
    line_free_at_ = SteadyClock::now() + exchange_time(converter_.baud, pdu.size(), reply_bytes);
    in_.erase(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(scan.length));
}

bool ConverterServer::send_reply() {
    line_free_at_.reset();
    size_t done = 0;
    while (done < reply_.size()) {
        const ssize_t n =
            ::send(client_fd_, reply_.data() + done, reply_.size() - done, MSG_NOSIGNAL);
        if (n > 0) {
            done += static_cast<size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            pollfd p{client_fd_, POLLOUT, 0};
            if (::poll(&p, 1, static_cast<int>(kConverterPoll.count())) > 0) {
                continue;
            }
        }
        return false;
    }
    reply_.clear();
    return true;
}

void ConverterServer::drop_client(const std::string& why) {
    if (client_fd_ < 0) {
        return;
    }
    ::close(client_fd_);
    client_fd_ = -1;
    in_.clear();
    reply_.clear();
    line_free_at_.reset();
    spdlog::info("simulate: {} connection from {} ended ({}); {} replies with a wrong id so far",
                 describe(), peer_, why, injector_.spoiled());
}

}  // namespace kaa::sim
