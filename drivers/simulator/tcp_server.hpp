#pragma once
// Modbus TCP server: one listening socket, many clients, one poll() loop on one thread.

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/result.hpp"
#include "drivers/simulator/server.hpp"
#include "drivers/simulator/tcp_listener.hpp"
#include "drivers/simulator/unit_set.hpp"

namespace kaa::sim {

/// Serves the units of a UnitSet over Modbus TCP (MBAP framing) on host:port.
class TcpServer final : public Server {
  public:
    /// Prepares a server; nothing is bound until open().
    TcpServer(std::string name, config::TcpLink link, UnitSet& units);
    ~TcpServer() override;
    TcpServer(const TcpServer&) = delete;
    TcpServer& operator=(const TcpServer&) = delete;

    /// Binds (SO_REUSEADDR) and listens; fails naming the server when the port is taken.
    Status open() override;
    /// Accepts clients and answers their requests until stop is set.
    void serve(const std::atomic<bool>& stop) override;
    /// "tcp host:port", with the bound port once open.
    std::string describe() const override;
    /// The port actually bound (the chosen one when the configuration says 0).
    uint16_t port() const { return listener_.port; }
    uint16_t tcp_port() const override { return listener_.port; }

  private:
    struct Client {
        int fd = -1;
        std::string peer;
        std::vector<uint8_t> in;
        std::vector<uint8_t> out;
    };

    void accept_clients();
    bool receive(Client& client);
    bool flush(Client& client);
    void close_clients();

    std::string name_;
    config::TcpLink link_;
    UnitSet& units_;
    Listener listener_;
    std::vector<Client> clients_;
};

}  // namespace kaa::sim
