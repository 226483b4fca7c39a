#pragma once
// LibmodbusTransport: MeterTransport over libmodbus, for RTU serial lines and Modbus TCP.

#include "config/config.hpp"
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
    std::string describe() const override;

  private:
    Error classify_failure(int err, int unit);
    void discard_stale_input(int unit);
    /// A read on Modbus TCP: the request sent and its reply checked here, not by libmodbus.
    Result<std::vector<uint16_t>> read_tcp(int unit, config::RegisterFunction function,
                                           uint16_t address, uint16_t count);
    /// A read on a serial line, through libmodbus's own read functions.
    Result<std::vector<uint16_t>> read_rtu(int unit, config::RegisterFunction function,
                                           uint16_t address, uint16_t count);
    /// Drops and reopens a TCP connection whose byte stream is no longer aligned on frames.
    void resynchronise(const Error& why);
    /// True when the bus is a Modbus TCP endpoint, not a serial line.
    bool is_tcp() const;

    config::BusConfig bus_;
    _modbus* ctx_ = nullptr;
    uint16_t next_transaction_id_ = 1;
};

/// A sentence for a Modbus exception code: "exception 2 (illegal data address)".
std::string describe_exception(int code);

}  // namespace kaa::modbus
