#pragma once
// A simulated TCP-to-RTU converter (Moxa, USR, Waveshare): the TCP side of a serial line
// with several meters behind it.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/sim_config.hpp"
#include "core/result.hpp"
#include "drivers/simulator/converter_line.hpp"
#include "drivers/simulator/server.hpp"
#include "drivers/simulator/tcp_listener.hpp"
#include "drivers/simulator/unit_set.hpp"

namespace kaa::sim {

/// Serves the units of a UnitSet as a converter does: ONE connection at a time (a second
/// is accepted and closed at once, so a master that opens one per meter sees it refused),
/// ONE request at a time (the next waits in the socket until the serial line is free), each
/// taking its RTU frame times at the configured baud; every n-th reply may carry a wrong id.
class ConverterServer final : public Server {
  public:
    /// Prepares a converter; nothing is bound until open().
    ConverterServer(std::string name, config::TcpLink link, config::SimConverterConfig converter,
                    UnitSet& units);
    ~ConverterServer() override;
    ConverterServer(const ConverterServer&) = delete;
    ConverterServer& operator=(const ConverterServer&) = delete;

    /// Binds and listens; fails naming the server when the port is taken.
    Status open() override;
    /// Accepts one client at a time and answers its requests until stop is set.
    void serve(const std::atomic<bool>& stop) override;
    /// "tcp host:port (converter at 9600 baud)".
    std::string describe() const override;
    /// The port bound.
    uint16_t tcp_port() const override { return listener_.port; }

  private:
    using SteadyClock = std::chrono::steady_clock;

    void accept_client();
    bool receive();
    void start_next_request();
    bool send_reply();
    void drop_client(const std::string& why);

    std::string name_;
    config::TcpLink link_;
    config::SimConverterConfig converter_;
    UnitSet& units_;
    WrongIdInjector injector_;
    Listener listener_;
    int client_fd_ = -1;
    std::string peer_;
    SteadyClock::time_point connected_at_{};
    bool asked_yet_ = false;
    std::vector<uint8_t> in_;
    std::optional<SteadyClock::time_point> line_free_at_;  // a request is on the serial line
    std::vector<uint8_t> reply_;                           // sent when the line is free
};

}  // namespace kaa::sim
