#pragma once
// The simulator's typed configuration (kaa-gateway simulate --config sim.yaml).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "config/config.hpp"

namespace kaa::config {

/// One simulated register: where it is, how it is encoded, and how its value moves.
struct SimRegisterConfig {
    RegisterConfig reg;          // address, function, type, byte_order, length (name optional)
    nlohmann::json value;        // initial value: bool, number or string
    double step_per_second = 0;  // a counter: value rises by this much per second
    double wander = 0;           // a gauge: value wanders up to +/- this around the initial value
};

/// How a misbehaving simulated meter spoils its replies.
enum class SimCorruption {
    kNone,
    kCrc,      // the reply's CRC is wrong (a flipped bit on the line)
    kGarbage,  // the reply's bytes are replaced by noise of the same length
};

/// The faults of one simulated meter (RTU servers only).
struct SimFaults {
    std::chrono::milliseconds reply_delay{0};  // every reply is sent this long after the request
    SimCorruption corrupt = SimCorruption::kNone;
    int corrupt_every = 1;  // with corrupt: only every n-th reply is spoiled (1 = all)
};

/// One simulated meter (a Modbus unit id) and its registers.
struct SimUnitConfig {
    int unit = 1;
    std::vector<SimRegisterConfig> registers;
    bool illegal_holes = false;  // reads touching an address with no register answer exception 02
    SimFaults faults;
    Location where;
};

/// Which id a simulated converter's spoiled reply gets wrong.
enum class SimWrongId { kTransaction, kUnit };

/// A TCP server that behaves as a TCP-to-RTU converter (Moxa, USR, Waveshare): it serves one
/// connection at a time (a second one is accepted and closed at once) and one request at a
/// time, each taking as long as its RTU frames would on the serial line behind it.
struct SimConverterConfig {
    int baud = 9600;         // the serial line behind it, 8N1: sets each request's time
    int wrong_id_every = 0;  // every n-th reply carries a wrong id (0: never)
    SimWrongId wrong_id = SimWrongId::kTransaction;
    uint16_t wrong_id_word = 0xDEAD;  // every register word of such a reply
};

/// One simulated bus: a Modbus TCP listener or a serial device (e.g. one end of a socat pty pair).
struct SimServerConfig {
    std::string name;
    std::variant<RtuLink, TcpLink> link;
    std::vector<SimUnitConfig> units;
    std::optional<SimConverterConfig> converter;  // tcp only
    Location where;
};

/// The whole simulator configuration.
struct SimConfig {
    std::string source_path;
    std::vector<SimServerConfig> servers;
};

}  // namespace kaa::config
