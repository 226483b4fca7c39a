#include "drivers/simulator/rtu_server.hpp"

#include <fcntl.h>
#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "drivers/simulator/modbus_frame.hpp"

namespace kaa::sim {
namespace {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::microseconds;
using std::chrono::milliseconds;

constexpr milliseconds kStopCheck{100};
constexpr milliseconds kReopenEvery{500};
constexpr size_t kMaxBuffer = 4096;

speed_t speed_for(int baud) {
    switch (baud) {
        case 300:
            return B300;
        case 600:
            return B600;
        case 1200:
            return B1200;
        case 2400:
            return B2400;
        case 4800:
            return B4800;
        case 9600:
            return B9600;
        case 19200:
            return B19200;
        case 38400:
            return B38400;
        case 57600:
            return B57600;
        case 115200:
            return B115200;
        case 230400:
            return B230400;
        case 460800:
            return B460800;
        case 921600:
            return B921600;
        default:
            return B0;
    }
}

tcflag_t size_flag(int data_bits) {
    switch (data_bits) {
        case 5:
            return CS5;
        case 6:
            return CS6;
        case 7:
            return CS7;
        default:
            return CS8;
    }
}

char parity_letter(config::Parity p) {
    switch (p) {
        case config::Parity::kEven:
            return 'E';
        case config::Parity::kOdd:
            return 'O';
        default:
            return 'N';
    }
}

timespec to_timespec(microseconds d) {
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(d.count() / 1'000'000);
    ts.tv_nsec = static_cast<long>((d.count() % 1'000'000) * 1000);
    return ts;
}

}  // namespace

RtuServer::RtuServer(std::string name, config::RtuLink link, UnitSet& units)
    : name_(std::move(name)), link_(std::move(link)), units_(units) {}

RtuServer::~RtuServer() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

std::string RtuServer::describe() const {
    return fmt::format("rtu {} at {} {}{}{}", link_.device, link_.baud, link_.data_bits,
                       parity_letter(link_.parity), link_.stop_bits);
}

microseconds RtuServer::silence(const config::RtuLink& link) {
    const int bits =
        1 + link.data_bits + (link.parity == config::Parity::kNone ? 0 : 1) + link.stop_bits;
    const double us = 3.5 * bits * 1e6 / std::max(link.baud, 1);
    return std::max(microseconds(2000), microseconds(static_cast<int64_t>(us + 0.5)));
}

Status RtuServer::open() {
    const Status s = open_device();
    if (!s.ok()) {
        return make_error(s.error().kind,
                          fmt::format("simulator server '{}': {}", name_, s.error().message),
                          s.error().code);
    }
    return {};
}

Status RtuServer::open_device() {
    const speed_t speed = speed_for(link_.baud);
    if (speed == B0) {
        return make_error(ErrorKind::kInvalidArgument,
                          fmt::format("unsupported baud rate {} for {}", link_.baud, describe()));
    }
    const int fd = ::open(link_.device.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        const int err = errno;
        return make_error(ErrorKind::kIo,
                          fmt::format("cannot open {}: {}", link_.device, std::strerror(err)), err);
    }
    termios tio{};
    if (tcgetattr(fd, &tio) != 0) {
        const int err = errno;
        ::close(fd);
        return make_error(
            ErrorKind::kIo,
            fmt::format("{} is not a serial device: {}", link_.device, std::strerror(err)), err);
    }
    cfmakeraw(&tio);
    tio.c_cflag &= ~(CSIZE | PARENB | PARODD | CSTOPB | CRTSCTS);
    tio.c_cflag |= CLOCAL | CREAD | size_flag(link_.data_bits);
    if (link_.parity != config::Parity::kNone) {
        tio.c_cflag |= PARENB;
        if (link_.parity == config::Parity::kOdd) {
            tio.c_cflag |= PARODD;
        }
    }
    if (link_.stop_bits == 2) {
        tio.c_cflag |= CSTOPB;
    }
    tio.c_cc[VMIN] = 0;
    tio.c_cc[VTIME] = 0;
    cfsetispeed(&tio, speed);
    cfsetospeed(&tio, speed);
    if (tcsetattr(fd, TCSANOW, &tio) != 0) {
        const int err = errno;
        ::close(fd);
        return make_error(ErrorKind::kIo,
                          fmt::format("cannot configure {}: {}", link_.device, std::strerror(err)),
                          err);
    }
    tcflush(fd, TCIOFLUSH);
    fd_ = fd;
    buffer_.clear();
    return {};
}

void RtuServer::close_device(const std::string& why) {
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
    buffer_.clear();
    late_.clear();
    next_reopen_ = std::chrono::steady_clock::now() + kReopenEvery;
    spdlog::warn("simulate: {} lost ({}); retrying every {} ms", describe(), why,
                 kReopenEvery.count());
}

void RtuServer::serve(const std::atomic<bool>& stop) {
    const microseconds gap = silence(link_);
    SteadyClock::time_point last_byte{};
    while (!stop.load()) {
        const auto now = SteadyClock::now();
        if (fd_ < 0) {
            if (now >= next_reopen_) {
                if (open_device().ok()) {
                    spdlog::info("simulate: {} is back", describe());
                    continue;
                }
                next_reopen_ = now + kReopenEvery;
            }
            const auto wait = std::min<SteadyClock::duration>(kStopCheck, next_reopen_ - now);
            const timespec ts = to_timespec(std::chrono::duration_cast<microseconds>(wait));
            ::ppoll(nullptr, 0, &ts, nullptr);
            continue;
        }
        if (!send_due_replies()) {
            continue;
        }
        microseconds wait = kStopCheck;
        if (!buffer_.empty()) {
            const auto quiet = std::chrono::duration_cast<microseconds>(now - last_byte);
            wait = std::clamp(gap - quiet, microseconds(0), microseconds(kStopCheck));
        }
        if (!late_.empty()) {
            const auto until = std::chrono::duration_cast<microseconds>(next_reply_due() - now);
            wait = std::clamp(until, microseconds(0), wait);
        }
        pollfd p{fd_, POLLIN, 0};
        const timespec ts = to_timespec(wait);
        const int ready = ::ppoll(&p, 1, &ts, nullptr);
        if (ready < 0) {
            if (errno != EINTR) {
                close_device(std::strerror(errno));
            }
            continue;
        }
        if (ready == 0) {
            if (!buffer_.empty() && SteadyClock::now() - last_byte >= gap) {
                spdlog::debug("simulate: {} discarded {} bytes without a valid frame", describe(),
                              buffer_.size());
                buffer_.clear();
            }
            continue;
        }
        if (p.revents & POLLIN) {
            uint8_t chunk[512];
            const ssize_t n = ::read(fd_, chunk, sizeof(chunk));
            if (n > 0) {
                buffer_.insert(buffer_.end(), chunk, chunk + n);
                last_byte = SteadyClock::now();
                process();
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
                continue;
            }
            close_device(n == 0 ? "end of file" : std::strerror(errno));
            continue;
        }
        if (p.revents & (POLLHUP | POLLERR | POLLNVAL)) {
            close_device("hang-up");
        }
    }
}

void RtuServer::process() {
    for (;;) {
        const RtuScan scan = scan_rtu(buffer_);
        if (scan.status != ScanStatus::kFrame) {
            break;
        }
        const std::span<const uint8_t> frame(buffer_.data(), scan.length);
        const uint8_t unit = frame[0];
        const auto reply = units_.answer(unit, rtu_pdu(frame));
        std::vector<uint8_t> bytes;
        ReplyFault fault;
        if (reply) {
            bytes = rtu_frame(unit, *reply);
            fault = units_.next_reply_fault(unit);
            spoil_rtu_frame(bytes, fault.corruption, noise_);
        }
        buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(scan.length));
        if (bytes.empty()) {
            continue;
        }
        if (fault.delay.count() > 0) {
            late_.push_back(LateReply{SteadyClock::now() + fault.delay, std::move(bytes)});
            continue;
        }
        if (!write_all(bytes)) {
            return;
        }
    }
    if (buffer_.size() > kMaxBuffer) {
        buffer_.clear();
    }
}

SteadyClock::time_point RtuServer::next_reply_due() const {
    SteadyClock::time_point first = SteadyClock::time_point::max();
    for (const LateReply& r : late_) {
        first = std::min(first, r.due);
    }
    return first;
}

bool RtuServer::send_due_replies() {
    while (!late_.empty() && fd_ >= 0) {
        const auto it = std::min_element(
            late_.begin(), late_.end(), [](const auto& a, const auto& b) { return a.due < b.due; });
        if (it->due > SteadyClock::now()) {
            return true;
        }
        const std::vector<uint8_t> bytes = std::move(it->bytes);
        late_.erase(it);
        if (!write_all(bytes)) {
            return false;
        }
    }
    return fd_ >= 0;
}

bool RtuServer::write_all(const std::vector<uint8_t>& bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
        if (n > 0) {
            done += static_cast<size_t>(n);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            pollfd p{fd_, POLLOUT, 0};
            if (::poll(&p, 1, static_cast<int>(kStopCheck.count())) <= 0) {
                spdlog::debug("simulate: {} dropped a reply: line not writable", describe());
                return true;
            }
            continue;
        }
        close_device(std::strerror(errno));
        return false;
    }
    return true;
}

}  // namespace kaa::sim
