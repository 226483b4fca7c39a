#pragma once
// The listening socket of a simulated Modbus TCP server, and how its peers are named in logs.

#include <sys/socket.h>

#include <cstdint>
#include <string>

#include "config/config.hpp"
#include "core/result.hpp"

namespace kaa::sim {

/// A bound, listening, non-blocking socket and the port it got.
struct Listener {
    int fd = -1;
    uint16_t port = 0;
};

/// Binds (SO_REUSEADDR) and listens on the link's host and port (port 0: any free one); the
/// error names the server and `where` ("tcp 127.0.0.1:502") when the port is taken.
Result<Listener> listen_tcp(const std::string& server, const config::TcpLink& link,
                            const std::string& where);

/// listen_tcp() into `out`: the server's open(), the error as listen_tcp gives it.
Status open_listener(Listener& out, const std::string& server, const config::TcpLink& link,
                     const std::string& where);

/// Where a server listens, for logs: the link's host (0.0.0.0 when empty) and the port it
/// got once listening, else the configured one.
std::string listen_address(const config::TcpLink& link, const Listener& listener);

/// "host:port", or "[v6]:port" for an IPv6 host.
std::string format_host_port(const std::string& host, uint16_t port);

/// The address of an accepted peer as "host:port".
std::string peer_name(const sockaddr_storage& addr);

}  // namespace kaa::sim
