// MeterTransport over libmodbus.
#include "drivers/modbus/libmodbus_transport.hpp"

#include <modbus.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <span>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/tcp_connect.hpp"
#include "drivers/modbus/tcp_adu.hpp"
#include "drivers/modbus/tcp_write_adu.hpp"

namespace kaa::modbus {
namespace {

// Bytes of a Modbus TCP reply before its function code (the MBAP header), and before the
// byte count of a read reply.
constexpr size_t kMbapBytes = 7;
constexpr size_t kReadHeaderBytes = 9;

/// The length a Modbus TCP reply must have, told by its function code (and the byte count
/// of a read), not by its MBAP length field, which is checked against it afterwards;
/// 0 while too little of it has come to tell.
size_t reply_length(std::span<const uint8_t> got) {
    if (got.size() <= kMbapBytes)
        return 0;
    const uint8_t function = got[kMbapBytes];
    if ((function & 0x80) != 0)
        return kReadHeaderBytes;  // an exception: function | 0x80, then its code
    switch (function) {
        case 1:
        case 2:
        case 3:
        case 4:
            return got.size() < kReadHeaderBytes ? 0 : kReadHeaderBytes + got[8];
        case 5:
        case 6:
        case 15:
        case 16:
            return kMbapBytes + 5;  // the echo of the address and the value or count
        default:
            // A function we never ask for: the MBAP length is all there is to go by.
            return got.size() < 6 ? 0 : 6 + (size_t{got[4]} << 8 | got[5]);
    }
}

/// Bytes already received on `fd` and not yet read (0 when it cannot tell).
size_t pending_bytes(int fd) {
    int pending = 0;
    if (fd < 0 || ioctl(fd, FIONREAD, &pending) != 0 || pending < 0)
        return 0;
    return static_cast<size_t>(pending);
}

/// Writes all of `bytes` to a stream socket; false with errno set when it cannot.
bool send_all(int fd, std::span<const uint8_t> bytes) {
    while (!bytes.empty()) {
        const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        bytes = bytes.subspan(static_cast<size_t>(n));
    }
    return true;
}

char parity_char(config::Parity p) {
    switch (p) {
        case config::Parity::kEven:
            return 'E';
        case config::Parity::kOdd:
            return 'O';
        case config::Parity::kNone:
            return 'N';
    }
    return 'N';
}

/// Explains the errors a user can act on when a bus cannot be opened.
std::string open_hint(int err, bool serial) {
    switch (err) {
        case ENOENT:
            return serial ? " (the device does not exist: is the USB RS-485 adapter plugged in? "
                            "ls /dev/serial/by-id/ shows stable names)"
                          : "";
        case EACCES:
            return serial ? " (permission denied: the service user must be in group dialout)" : "";
        case ECONNREFUSED:
            return " (nothing listens on that port: is the meter or Modbus gateway on?)";
        case EHOSTUNREACH:
        case ENETUNREACH:
            return " (no route to the host: check the address and the network)";
        case ETIMEDOUT:
            return " (no answer from the host)";
        default:
            return "";
    }
}

}  // namespace

std::string describe_exception(int code) {
    const char* name = "unknown exception";
    switch (code) {
        case 1:
            name = "illegal function";
            break;
        case 2:
            name = "illegal data address";
            break;
        case 3:
            name = "illegal data value";
            break;
        case 4:
            name = "server device failure";
            break;
        case 5:
            name = "acknowledge";
            break;
        case 6:
            name = "server device busy";
            break;
        case 7:
            name = "negative acknowledge";
            break;
        case 8:
            name = "memory parity error";
            break;
        case 10:
            name = "gateway path unavailable";
            break;
        case 11:
            name = "gateway target device failed to respond";
            break;
        default:
            break;
    }
    return fmt::format("Modbus exception {} ({})", code, name);
}

namespace {

/// The clock of the transports' log limiters (a transport waits on libmodbus, not on it).
const Clock& log_clock() {
    static const SystemClock clock;
    return clock;
}

}  // namespace

LibmodbusTransport::LibmodbusTransport(config::BusConfig bus)
    : bus_(std::move(bus)), wrong_id_log_(log_clock(), std::chrono::minutes(1)) {}

LibmodbusTransport::~LibmodbusTransport() {
    close();
}

std::string LibmodbusTransport::describe() const {
    return describe_link(bus_);
}

std::string describe_link(const config::BusConfig& bus) {
    if (const auto* rtu = std::get_if<config::RtuLink>(&bus.link)) {
        return fmt::format("rtu {} {} {}{}{}", rtu->device, rtu->baud, rtu->data_bits,
                           parity_char(rtu->parity), rtu->stop_bits);
    }
    const auto& tcp = std::get<config::TcpLink>(bus.link);
    return fmt::format("tcp {}:{}", tcp.host, tcp.port);
}

Status LibmodbusTransport::open() {
    close();
    input_clean_ = false;
    const bool serial = std::holds_alternative<config::RtuLink>(bus_.link);
    if (serial) {
        const auto& rtu = std::get<config::RtuLink>(bus_.link);
        ctx_ = modbus_new_rtu(rtu.device.c_str(), rtu.baud, parity_char(rtu.parity), rtu.data_bits,
                              rtu.stop_bits);
    } else {
        const auto& tcp = std::get<config::TcpLink>(bus_.link);
        ctx_ = modbus_new_tcp_pi(tcp.host.c_str(), std::to_string(tcp.port).c_str());
    }
    if (ctx_ == nullptr) {
        return make_error(ErrorKind::kInvalidArgument,
                          fmt::format("cannot set up {}: {}", describe(), std::strerror(errno)),
                          errno);
    }
    const auto timeout_us = std::chrono::duration_cast<std::chrono::microseconds>(bus_.timeout);
    modbus_set_response_timeout(ctx_, static_cast<uint32_t>(timeout_us.count() / 1000000),
                                static_cast<uint32_t>(timeout_us.count() % 1000000));
    if (modbus_connect(ctx_) != 0) {
        const int err = errno;
        modbus_free(ctx_);
        ctx_ = nullptr;
        return make_error(ErrorKind::kIo,
                          fmt::format("cannot open {}: {}{}", describe(), modbus_strerror(err),
                                      open_hint(err, serial)),
                          err);
    }
    return {};
}

void LibmodbusTransport::close() {
    if (ctx_ == nullptr)
        return;
    modbus_close(ctx_);
    modbus_free(ctx_);
    ctx_ = nullptr;
}

Error LibmodbusTransport::classify_failure(int err, int unit) {
    if (err == ETIMEDOUT) {
        // A late reply must never be read as the answer to the next request.
        modbus_flush(ctx_);
        return make_error(
            ErrorKind::kTimeout,
            fmt::format("no answer from unit {} within {} ms", unit, bus_.timeout.count()), err);
    }
    if (err > MODBUS_ENOBASE && err <= EMBXGTAR) {
        const int code = err - MODBUS_ENOBASE;
        return make_error(ErrorKind::kModbusException, describe_exception(code), code);
    }
    if (err == EMBBADCRC || err == EMBBADDATA || err == EMBBADEXC || err == EMBUNKEXC ||
        err == EMBMDATA || err == EMBBADSLAVE) {
        modbus_flush(ctx_);
        return make_error(
            ErrorKind::kBadResponse,
            fmt::format("unusable reply from unit {}: {}", unit, modbus_strerror(err)), err);
    }
    if (err >= MODBUS_ENOBASE && err <= MODBUS_ENOBASE + 0xFF) {
        // libmodbus reports exception code N as errno MODBUS_ENOBASE + N, whatever N is
        // (12..17 come out as its own EMBBADCRC..EMBBADSLAVE, above): 0 and codes past
        // those are a meter's bad reply, not a lost link.
        modbus_flush(ctx_);
        return make_error(
            ErrorKind::kBadResponse,
            fmt::format("invalid exception code {} from unit {}", err - MODBUS_ENOBASE, unit),
            err - MODBUS_ENOBASE);
    }
    return make_error(ErrorKind::kIo,
                      fmt::format("{} failed: {}", describe(), modbus_strerror(err)), err);
}

bool LibmodbusTransport::is_tcp() const {
    return std::holds_alternative<config::TcpLink>(bus_.link);
}

void LibmodbusTransport::discard_stale_input(int unit) {
    // A meter that answered after the timeout leaves its reply in the input queue, where
    // on a serial line it would pass as the answer to an identical request (libmodbus
    // only rejects a reply from another unit), and on TCP it would fail the next reply's
    // transaction id check.
    const size_t pending = pending_bytes(modbus_get_socket(ctx_));
    if (pending > 0) {
        modbus_flush(ctx_);
        spdlog::debug(
            "modbus: {}: discarded {} bytes that arrived unasked before a request to "
            "unit {} (a late reply)",
            describe(), pending, unit);
    }
}

void LibmodbusTransport::resynchronise(const Error& why) {
    // The rest of a frame whose length fields lie may still be on its way; flushing
    // only drops what has arrived, so a new connection is the one clean frame boundary.
    spdlog::debug("modbus: {}: reconnecting after a reply whose framing is lost ({})", describe(),
                  why.message);
    if (const Status reopened = open(); !reopened)
        spdlog::debug("modbus: {}: {}", describe(), reopened.error().message);
}

Result<std::vector<uint16_t>> LibmodbusTransport::read(int unit, config::RegisterFunction function,
                                                       uint16_t address, uint16_t count) {
    if (ctx_ == nullptr)
        return make_error(ErrorKind::kNotConnected, describe() + " is not open");
    if (unit < 0 || unit > 0xFF)
        return make_error(ErrorKind::kInvalidArgument, fmt::format("invalid unit id {}", unit));
    if (!input_clean_)
        discard_stale_input(unit);
    input_clean_ = false;
    return is_tcp() ? read_tcp(unit, function, address, count)
                    : read_rtu(unit, function, address, count);
}

Result<size_t> LibmodbusTransport::exchange_tcp(std::span<const uint8_t> adu, int unit,
                                                std::array<uint8_t, 260>& reply, size_t& trailing) {
    static_assert(MODBUS_TCP_MAX_ADU_LENGTH == 260, "the reply buffer is one TCP ADU");
    const int fd = modbus_get_socket(ctx_);
    if (!send_all(fd, adu))
        return classify_failure(errno, unit);
    // The reply read here rather than by libmodbus (a select and a read for its header,
    // then again for the rest): a reply comes in one segment, so one poll and one read
    // take it whole, and check_*_reply judge it (length, transaction id, unit, values).
    const auto deadline = ProbeClock::now() + bus_.timeout;
    size_t got = 0;
    trailing = 0;
    while (true) {
        if (!wait_for_fd(fd, POLLIN, deadline))
            return classify_failure(ETIMEDOUT, unit);
        const ssize_t n = ::recv(fd, reply.data() + got, reply.size() - got, MSG_DONTWAIT);
        if (n == 0)
            return classify_failure(ECONNRESET, unit);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return classify_failure(errno, unit);
        }
        got += static_cast<size_t>(n);
        const size_t whole = reply_length(std::span<const uint8_t>(reply.data(), got));
        if (whole == 0)
            continue;  // not enough of it yet to tell its length
        if (whole > reply.size())
            return got;  // a length no reply has: check_*_reply call it a lost frame
        if (got >= whole) {
            trailing = got - whole;
            return whole;
        }
    }
}

Result<std::vector<uint16_t>> LibmodbusTransport::read_tcp(int unit,
                                                           config::RegisterFunction function,
                                                           uint16_t address, uint16_t count) {
    TcpReadRequest request;
    request.transaction_id = next_transaction_id_++;
    request.unit = static_cast<uint8_t>(unit);
    request.function = function_code(function);
    request.address = address;
    request.count = count;
    if (count == 0 || count > max_read_count(request.function)) {
        return make_error(
            ErrorKind::kBadResponse,
            fmt::format("cannot read {} values from unit {} in one request", count, unit));
    }
    // libmodbus 3.1.6's modbus_send_raw_request always sends transaction id 0, which
    // would make every reply, however late, match: the request is written here instead.
    std::array<uint8_t, MODBUS_TCP_MAX_ADU_LENGTH> reply{};
    size_t trailing = 0;
    const auto received = exchange_tcp(build_read_request(request), unit, reply, trailing);
    if (!received)
        return received.error();
    const TcpReply checked = check_read_reply(
        request, std::span<const uint8_t>(reply.data(), received.value()), trailing);
    if (checked.values.ok() || checked.values.error().kind == ErrorKind::kModbusException) {
        input_clean_ = trailing == 0;
        return checked.values;
    }
    if (checked.wrong_id)
        note_wrong_id(unit, checked.values.error().message);
    if (checked.framing_lost)
        resynchronise(checked.values.error());
    else
        modbus_flush(ctx_);
    return checked.values;
}

void LibmodbusTransport::note_wrong_id(int unit, const std::string& why) {
    const uint64_t from_unit = ++wrong_id_by_unit_[unit];
    ++wrong_id_total_;
    int suppressed = 0;
    if (!wrong_id_log_.allow("unit " + std::to_string(unit), suppressed))
        return;
    spdlog::warn(
        "modbus: bus {} ({}): discarded a reply meant for another request ({}), not decoded; "
        "discarded replies: {} for unit {}, {} on this bus",
        bus_.name, describe(), why, from_unit, unit, wrong_id_total_);
}

Result<std::vector<uint16_t>> LibmodbusTransport::read_rtu(int unit,
                                                           config::RegisterFunction function,
                                                           uint16_t address, uint16_t count) {
    if (modbus_set_slave(ctx_, unit) != 0) {
        return make_error(ErrorKind::kInvalidArgument, fmt::format("invalid unit id {}", unit));
    }
    std::vector<uint16_t> words(count);
    int rc = -1;
    if (config::is_bit_function(function)) {
        std::vector<uint8_t> bits(count);
        rc = function == config::RegisterFunction::kCoil
                 ? modbus_read_bits(ctx_, address, count, bits.data())
                 : modbus_read_input_bits(ctx_, address, count, bits.data());
        for (size_t i = 0; i < bits.size(); ++i)
            words[i] = bits[i] ? 1 : 0;
    } else {
        rc = function == config::RegisterFunction::kHolding
                 ? modbus_read_registers(ctx_, address, count, words.data())
                 : modbus_read_input_registers(ctx_, address, count, words.data());
    }
    if (rc == count)
        return words;
    if (rc >= 0) {
        return make_error(ErrorKind::kBadResponse,
                          fmt::format("unit {} returned {} values instead of {}", unit, rc, count));
    }
    return classify_failure(errno, unit);
}

Status LibmodbusTransport::write(int unit, config::RegisterFunction table, uint16_t address,
                                 const std::vector<uint16_t>& values, bool multiple) {
    if (ctx_ == nullptr)
        return make_error(ErrorKind::kNotConnected, describe() + " is not open");
    if (unit < 0 || unit > 0xFF)
        return make_error(ErrorKind::kInvalidArgument, fmt::format("invalid unit id {}", unit));
    if (table != config::RegisterFunction::kHolding && table != config::RegisterFunction::kCoil)
        return make_error(ErrorKind::kInvalidArgument,
                          fmt::format("{} cannot be written", config::to_string(table)));
    const uint8_t function = write_function_code(table, values.size(), multiple);
    if (values.empty() || values.size() > max_write_count(function)) {
        return make_error(
            ErrorKind::kInvalidArgument,
            fmt::format("cannot write {} values to unit {} in one request", values.size(), unit));
    }
    discard_stale_input(unit);
    input_clean_ = false;
    return is_tcp() ? write_tcp(unit, function, address, values)
                    : write_rtu(unit, function, address, values);
}

Status LibmodbusTransport::write_tcp(int unit, uint8_t function, uint16_t address,
                                     const std::vector<uint16_t>& values) {
    TcpWriteRequest request;
    request.transaction_id = next_transaction_id_++;
    request.unit = static_cast<uint8_t>(unit);
    request.function = function;
    request.address = address;
    request.values = values;
    std::array<uint8_t, MODBUS_TCP_MAX_ADU_LENGTH> reply{};
    size_t trailing = 0;
    const auto received = exchange_tcp(build_write_request(request), unit, reply, trailing);
    if (!received)
        return received.error();
    const TcpReply checked = check_write_reply(
        request, std::span<const uint8_t>(reply.data(), received.value()), trailing);
    if (checked.values.ok())
        return {};
    if (checked.wrong_id)
        note_wrong_id(unit, checked.values.error().message);
    if (checked.framing_lost)
        resynchronise(checked.values.error());
    else if (checked.values.error().kind != ErrorKind::kModbusException)
        modbus_flush(ctx_);
    return checked.values.error();
}

Status LibmodbusTransport::write_rtu(int unit, uint8_t function, uint16_t address,
                                     const std::vector<uint16_t>& values) {
    if (modbus_set_slave(ctx_, unit) != 0)
        return make_error(ErrorKind::kInvalidArgument, fmt::format("invalid unit id {}", unit));
    int rc = -1;
    const int n = static_cast<int>(values.size());
    switch (function) {
        case 5:
            rc = modbus_write_bit(ctx_, address, values[0] != 0 ? 1 : 0);
            break;
        case 6:
            rc = modbus_write_register(ctx_, address, values[0]);
            break;
        case 15: {
            std::vector<uint8_t> bits(values.size());
            for (size_t i = 0; i < values.size(); ++i)
                bits[i] = values[i] != 0 ? 1 : 0;
            rc = modbus_write_bits(ctx_, address, n, bits.data());
            break;
        }
        default:
            rc = modbus_write_registers(ctx_, address, n, values.data());
    }
    if (rc >= 0)
        return {};
    return classify_failure(errno, unit);
}

}  // namespace kaa::modbus
