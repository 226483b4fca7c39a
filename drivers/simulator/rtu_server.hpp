#pragma once
// Modbus RTU server on a serial device (or one end of a pty pair), answering several unit
// ids on one line, framing requests by CRC and the 3.5-character silence.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/result.hpp"
#include "drivers/simulator/server.hpp"
#include "drivers/simulator/unit_set.hpp"

namespace kaa::sim {

/// Serves the units of a UnitSet over Modbus RTU, with their faults (late or spoiled
/// replies); reopens the device if it disappears.
class RtuServer final : public Server {
  public:
    /// Prepares a server; the device is opened by open().
    RtuServer(std::string name, config::RtuLink link, UnitSet& units);
    ~RtuServer() override;
    RtuServer(const RtuServer&) = delete;
    RtuServer& operator=(const RtuServer&) = delete;

    /// Opens the device in raw mode at the configured baud rate, parity, data and stop bits.
    Status open() override;
    /// Answers requests until stop is set; retries a lost device every 500 ms.
    void serve(const std::atomic<bool>& stop) override;
    /// "rtu /dev/ttyUSB0 at 9600 8N1".
    std::string describe() const override;

    /// The 3.5-character silence that ends a frame on this line (never below 2 ms).
    static std::chrono::microseconds silence(const config::RtuLink& link);

  private:
    Status open_device();
    void close_device(const std::string& why);
    void process();
    bool write_all(const std::vector<uint8_t>& bytes);
    bool send_due_replies();
    std::chrono::steady_clock::time_point next_reply_due() const;

    /// A reply held back by a unit's reply_delay.
    struct LateReply {
        std::chrono::steady_clock::time_point due;
        std::vector<uint8_t> bytes;
    };

    std::string name_;
    config::RtuLink link_;
    UnitSet& units_;
    int fd_ = -1;
    std::vector<uint8_t> buffer_;
    std::chrono::steady_clock::time_point next_reopen_{};
    std::vector<LateReply> late_;
    std::mt19937 noise_{0x4B4141u};
};

}  // namespace kaa::sim
