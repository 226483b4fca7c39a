#pragma once
// ServiceNotifier: tells the service manager (systemd) how the daemon is doing:
// READY, STATUS lines, watchdog pings, RELOADING and STOPPING. Outside systemd (no
// NOTIFY_SOCKET) every call does nothing. The sd_notify protocol is spoken here, not
// through libsystemd: one datagram per message to $NOTIFY_SOCKET, documented as a stable
// interface (sd_notify(3)); linking libsystemd for two calls mapped it and the five
// compression and crypto libraries it needs into every daemon (1 MiB and more of RSS).

#include <chrono>
#include <optional>
#include <string>

namespace kaa {

/// The daemon's side of the sd_notify protocol.
class ServiceNotifier {
  public:
    /// Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID from the environment.
    ServiceNotifier();
    ~ServiceNotifier();
    ServiceNotifier(const ServiceNotifier&) = delete;
    ServiceNotifier& operator=(const ServiceNotifier&) = delete;
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
    std::string socket_path_;  // NOTIFY_SOCKET; a leading '@' is the abstract namespace
    int fd_ = -1;              // a datagram socket, opened at the first message
    std::optional<std::chrono::microseconds> watchdog_timeout_;
    std::string last_status_;
};

}  // namespace kaa
