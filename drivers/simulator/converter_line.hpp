#pragma once
// The serial side of a simulated TCP-to-RTU converter: how long one exchange keeps the line
// busy, and which replies come back with a wrong id. Pure logic, no sockets.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "config/sim_config.hpp"

namespace kaa::sim {

/// How long one exchange keeps the serial line behind a converter busy: the request's RTU
/// frame (unit, PDU, CRC), the reply's when there is one (`reply_pdu_bytes` 0: the unit is
/// silent), and the 3.5-character silence after each, at `baud` with 10 bits a character (8N1).
std::chrono::microseconds exchange_time(int baud, size_t request_pdu_bytes, size_t reply_pdu_bytes);

/// Counts a converter's replies and spoils every n-th: a wrong transaction id or unit id,
/// and register words replaced by a marker word, so a master that decoded it would show it.
class WrongIdInjector {
  public:
    /// As the converter is configured (wrong_id_every 0: never).
    explicit WrongIdInjector(const config::SimConverterConfig& converter) : converter_(converter) {}

    /// The TCP frame for the reply `pdu` to a request (transaction, unit): the right one, or
    /// on every n-th reply a spoiled one. Counts the reply.
    std::vector<uint8_t> frame(uint16_t transaction, uint8_t unit, std::vector<uint8_t> pdu);
    /// Replies spoiled so far.
    uint64_t spoiled() const { return spoiled_; }

  private:
    config::SimConverterConfig converter_;
    uint64_t replies_ = 0;
    uint64_t spoiled_ = 0;
};

}  // namespace kaa::sim
