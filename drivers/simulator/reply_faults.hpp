#pragma once
// Faults a simulated meter puts into its replies: late answers, bad CRCs, line noise.

#include <chrono>
#include <cstdint>
#include <random>
#include <vector>

#include "config/sim_config.hpp"

namespace kaa::sim {

/// What happens to one reply of a unit.
struct ReplyFault {
    std::chrono::milliseconds delay{0};
    config::SimCorruption corruption = config::SimCorruption::kNone;
};

/// Counts a unit's replies and decides which of them are spoiled (every n-th).
class ReplyFaults {
  public:
    /// Faults as configured for one unit.
    explicit ReplyFaults(config::SimFaults faults) : faults_(faults) {}

    /// The fault of the next reply (counts it).
    ReplyFault next();

  private:
    config::SimFaults faults_;
    uint64_t replies_ = 0;
};

/// Spoils a complete RTU frame: a wrong CRC, or noise of the same length whose CRC is
/// guaranteed not to match (so a correct master must reject it).
void spoil_rtu_frame(std::vector<uint8_t>& frame, config::SimCorruption corruption,
                     std::mt19937& rng);

}  // namespace kaa::sim
