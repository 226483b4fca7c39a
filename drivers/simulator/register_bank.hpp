#pragma once
// The four Modbus tables of one simulated unit, stored sparsely, answering request PDUs.

#include <array>
#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "config/sim_config.hpp"
#include "core/clock.hpp"
#include "drivers/simulator/value_model.hpp"

namespace kaa::sim {

/// Coils, discrete inputs, holding and input registers of one unit. Only addresses that hold
/// a register (or were written) are stored; moving values are refreshed when read.
class RegisterBank {
  public:
    /// Loads the unit's registers; moving values take their elapsed time from clock.
    RegisterBank(const config::SimUnitConfig& unit, const Clock& clock);

    /// Answers one request PDU with a response PDU: data, a write echo or an exception.
    std::vector<uint8_t> handle(std::span<const uint8_t> pdu);

    /// The current entries [address, address + count) of a table; addresses without a
    /// register read 0. Bits are 0 or 1.
    std::vector<uint16_t> read(config::RegisterFunction table, uint16_t address, uint16_t count);

    /// Number of stored entries across the four tables.
    size_t stored_entries() const;

  private:
    struct Moving {
        config::RegisterConfig reg;
        ValueModel model;
    };
    using Table = std::unordered_map<uint16_t, uint16_t>;

    Table& table(config::RegisterFunction f) { return tables_[static_cast<size_t>(f)]; }
    void store(const config::RegisterConfig& reg, const modbus::Value& value);
    void refresh(config::RegisterFunction f, uint32_t address, uint32_t count);
    void pin(config::RegisterFunction f, uint32_t address, uint32_t count);
    bool has_hole(config::RegisterFunction f, uint32_t address, uint32_t count);

    const Clock& clock_;
    Clock::Monotonic start_;
    bool illegal_holes_ = false;
    std::array<Table, 4> tables_;
    std::vector<Moving> moving_;
};

}  // namespace kaa::sim
