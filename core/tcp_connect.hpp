#pragma once
// A TCP connection opened with a deadline, for the short probes that explain a failed
// broker connection (daemon/kaa/port_probe, the TLS handshake diagnosis).

#include <chrono>
#include <string>

namespace kaa {

/// The clock the probes' deadlines are on.
using ProbeClock = std::chrono::steady_clock;

/// A non-blocking, close-on-exec socket connected to host:port (the first address that
/// accepts), or -1 when none did before `deadline`. The caller closes it.
int connect_tcp(const std::string& host, int port, ProbeClock::time_point deadline);

/// Waits until fd has `events` (poll(2) flags) or `deadline` comes; true when they came.
bool wait_for_fd(int fd, short events, ProbeClock::time_point deadline);

}  // namespace kaa
