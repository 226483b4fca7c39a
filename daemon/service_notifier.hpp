#pragma once
// ServiceNotifier: tells the service manager (systemd) how the daemon is doing:
// READY, STATUS lines, watchdog pings, RELOADING and STOPPING. Outside systemd, or
// without libsystemd at build time, every call does nothing.

#include <chrono>
#include <optional>
#include <string>

namespace kaa {

/// The daemon's side of the sd_notify protocol.
class ServiceNotifier {
  public:
    /// The start-up is complete: config loaded, buffer open, buses started.
    void ready();
    /// A one-line status for `systemctl status`; sent only when it changed.
    void status(const std::string& text);
    /// Proves liveness to the watchdog.
    void watchdog();
    /// A configuration reload has begun (READY follows when it is done).
    void reloading();
    /// Shutdown has begun.
    void stopping();
    /// How often to ping when systemd's watchdog is on (half its timeout); nullopt when off.
    std::optional<std::chrono::microseconds> watchdog_interval() const;

  private:
    void send(const std::string& message);
    std::string last_status_;
};

}  // namespace kaa
