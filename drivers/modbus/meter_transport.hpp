#pragma once
// MeterTransport: one bus's Modbus master, as the poller needs it. The libmodbus
// implementation is in libmodbus_transport.*; unit tests use a fake.

#include <cstdint>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/result.hpp"

namespace kaa::modbus {

/// A Modbus master on one bus (a serial line or a TCP endpoint).
class MeterTransport {
  public:
    virtual ~MeterTransport() = default;
    /// Opens the serial device or connects the TCP socket.
    virtual Status open() = 0;
    /// Closes it; open() may be called again later.
    virtual void close() = 0;
    virtual bool is_open() const = 0;
    /// Reads `count` registers (holding/input) or bits (coil/discrete, one per element,
    /// 0 or 1) starting at `address` from `unit`. Errors: kTimeout, kModbusException
    /// (code = exception code), kBadResponse, kIo (the link is broken: close and reopen).
    virtual Result<std::vector<uint16_t>> read(int unit, config::RegisterFunction function,
                                               uint16_t address, uint16_t count) = 0;
    /// Writes `values` (registers, or one 0/1 per coil) of `table` (holding or coil) from
    /// `address` of `unit`: function 05/06 for one value unless `multiple`, else 15/16.
    /// Confirmed only by the meter's echo; errors as for read. A transport that cannot
    /// write says so (kInvalidArgument).
    virtual Status write(int unit, config::RegisterFunction table, uint16_t address,
                         const std::vector<uint16_t>& values, bool multiple) {
        (void)unit, (void)table, (void)address, (void)values, (void)multiple;
        return make_error(ErrorKind::kInvalidArgument, describe() + " cannot write");
    }
    /// "rtu /dev/ttyUSB0 9600 8N1" or "tcp 10.0.0.5:502", for logs.
    virtual std::string describe() const = 0;
};

/// "rtu /dev/ttyUSB0 9600 8N1" or "tcp 10.0.0.5:502": how logs and --check name a bus link.
std::string describe_link(const config::BusConfig& bus);

}  // namespace kaa::modbus
