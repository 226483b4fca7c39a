#include "drivers/simulator/unit_set.hpp"

namespace kaa::sim {

UnitSet::UnitSet(const std::vector<config::SimUnitConfig>& units, const Clock& clock) {
    for (const auto& u : units) {
        if (u.unit >= 0 && u.unit <= 255) {
            const auto id = static_cast<uint8_t>(u.unit);
            banks_.erase(id);
            banks_.emplace(id, RegisterBank(u, clock));
            faults_.erase(id);
            faults_.emplace(id, ReplyFaults(u.faults));
        }
    }
}

std::optional<std::vector<uint8_t>> UnitSet::answer(uint8_t unit, std::span<const uint8_t> pdu) {
    std::lock_guard lock(mutex_);
    const auto it = banks_.find(unit);
    if (it == banks_.end()) {
        return std::nullopt;
    }
    return it->second.handle(pdu);
}

ReplyFault UnitSet::next_reply_fault(uint8_t unit) {
    std::lock_guard lock(mutex_);
    const auto it = faults_.find(unit);
    if (it == faults_.end()) {
        return {};
    }
    return it->second.next();
}

}  // namespace kaa::sim
