#pragma once
// What the simulator needs from one server (TCP listener or serial line).

#include <atomic>
#include <cstdint>
#include <string>

#include "core/result.hpp"

namespace kaa::sim {

/// One simulated bus: opened once, then served by one thread until asked to stop.
class Server {
  public:
    virtual ~Server() = default;
    /// Binds or opens the endpoint; the error names the server and what failed.
    virtual Status open() = 0;
    /// Answers requests until stop is set; notices it within 100 ms.
    virtual void serve(const std::atomic<bool>& stop) = 0;
    /// Where it serves, for logs: "tcp 127.0.0.1:15020" or "rtu /dev/ttyS0 at 9600 8N1".
    virtual std::string describe() const = 0;
    /// The TCP port bound once open (0 for a serial line).
    virtual uint16_t tcp_port() const { return 0; }
};

}  // namespace kaa::sim
