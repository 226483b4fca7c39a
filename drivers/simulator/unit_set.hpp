#pragma once
// The simulated units behind one server, by unit id. Unknown ids get no answer at all.

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "config/sim_config.hpp"
#include "core/clock.hpp"
#include "drivers/simulator/register_bank.hpp"
#include "drivers/simulator/reply_faults.hpp"

namespace kaa::sim {

/// The register banks of the units one server answers for; safe to share between threads.
class UnitSet {
  public:
    /// Builds one bank per configured unit.
    UnitSet(const std::vector<config::SimUnitConfig>& units, const Clock& clock);

    /// The response PDU of `unit` to a request PDU, or nothing when the unit does not exist.
    std::optional<std::vector<uint8_t>> answer(uint8_t unit, std::span<const uint8_t> pdu);

    /// The fault of the unit's next reply (none for unknown units); counts the reply.
    ReplyFault next_reply_fault(uint8_t unit);

    /// Number of units.
    size_t size() const { return banks_.size(); }

  private:
    std::mutex mutex_;
    std::map<uint8_t, RegisterBank> banks_;
    std::map<uint8_t, ReplyFaults> faults_;
};

}  // namespace kaa::sim
