#pragma once
// LibmodbusTransport: MeterTransport over libmodbus, for RTU serial lines and Modbus TCP.

#include <array>
#include <cstdint>
#include <map>
#include <span>

#include "config/config.hpp"
#include "core/rate_limiter.hpp"
#include "drivers/modbus/meter_transport.hpp"

struct _modbus;

namespace kaa::modbus {

/// A libmodbus master context for one bus.
class LibmodbusTransport final : public MeterTransport {
  public:
    explicit LibmodbusTransport(config::BusConfig bus);
    ~LibmodbusTransport() override;
    LibmodbusTransport(const LibmodbusTransport&) = delete;
    LibmodbusTransport& operator=(const LibmodbusTransport&) = delete;

    Status open() override;
    void close() override;
    bool is_open() const override { return ctx_ != nullptr; }
    Result<std::vector<uint16_t>> read(int unit, config::RegisterFunction function,
                                       uint16_t address, uint16_t count) override;
    Status write(int unit, config::RegisterFunction table, uint16_t address,
                 const std::vector<uint16_t>& values, bool multiple) override;
    std::string describe() const override;
    /// Replies discarded on this link because their transaction id or unit id belonged to
    /// another request (Modbus TCP), all units together.
    uint64_t wrong_id_replies() const { return wrong_id_total_; }

  private:
    Error classify_failure(int err, int unit);
    /// Modbus TCP: sends `adu` and receives one reply into `reply`: its length, with
    /// `trailing` set to the bytes that came after it in the same reads; or the failure (a
    /// garbled reply resynchronises the link first).
    Result<size_t> exchange_tcp(std::span<const uint8_t> adu, int unit,
                                std::array<uint8_t, 260>& reply, size_t& trailing);
    void discard_stale_input(int unit);
    /// A read on Modbus TCP: the request sent and its reply checked here, not by libmodbus.
    Result<std::vector<uint16_t>> read_tcp(int unit, config::RegisterFunction function,
                                           uint16_t address, uint16_t count);
    /// A read on a serial line, through libmodbus's own read functions.
    Result<std::vector<uint16_t>> read_rtu(int unit, config::RegisterFunction function,
                                           uint16_t address, uint16_t count);
    /// A write on Modbus TCP: the request built and its echo checked here (tcp_write_adu.hpp).
    Status write_tcp(int unit, uint8_t function, uint16_t address,
                     const std::vector<uint16_t>& values);
    /// A write on a serial line, through libmodbus's write functions (which check the echo).
    Status write_rtu(int unit, uint8_t function, uint16_t address,
                     const std::vector<uint16_t>& values);
    /// Drops and reopens a TCP connection whose byte stream is no longer aligned on frames.
    void resynchronise(const Error& why);
    /// True when the bus is a Modbus TCP endpoint, not a serial line.
    bool is_tcp() const;
    /// Counts a reply with another request's transaction or unit id and logs the count.
    void note_wrong_id(int unit, const std::string& why);

    config::BusConfig bus_;
    _modbus* ctx_ = nullptr;
    uint16_t next_transaction_id_ = 1;
    // Modbus TCP: the last read's reply came whole, alone and in time, so no late reply can
    // be waiting and the next request needs no FIONREAD first (one system call less per
    // transaction). Any other outcome, a write or a reopen clears it.
    bool input_clean_ = false;
    std::map<int, uint64_t> wrong_id_by_unit_;
    uint64_t wrong_id_total_ = 0;
    RateLimiter wrong_id_log_;
};

/// A sentence for a Modbus exception code: "exception 2 (illegal data address)".
std::string describe_exception(int code);

}  // namespace kaa::modbus
