#pragma once
// Plans the fewest Modbus read requests that cover a meter's registers.

#include <cstdint>
#include <vector>

#include "config/config.hpp"

namespace kaa::modbus {

/// A place where a meter refuses merged reads: no request may read both `address - 1` and
/// `address` of `function` (learnt from exception 02, see hole_finder.hpp).
struct ReadCut {
    config::RegisterFunction function = config::RegisterFunction::kHolding;
    uint16_t address = 0;
    bool operator==(const ReadCut&) const = default;
    auto operator<=>(const ReadCut&) const = default;
};

/// Limits a plan must respect.
struct PlanLimits {
    int max_gap = 8;            // unused registers (or bits) a merged read may span
    int max_registers = 125;    // per request for holding/input (protocol maximum 125)
    int max_bits = 2000;        // per request for coil/discrete (protocol maximum 2000)
    std::vector<ReadCut> cuts;  // never merged across (a value that spans one stays whole)
};

/// Where one configured register sits inside a planned read.
struct PlannedSlot {
    size_t register_index = 0;  // index into the register list given to plan_reads
    uint16_t offset = 0;        // first word (or bit) of the value, relative to the read start
    uint16_t count = 0;         // words (or bits) it occupies
};

/// One read request: function, start address, how many registers/bits, and what it feeds.
struct PlannedRead {
    config::RegisterFunction function = config::RegisterFunction::kHolding;
    uint16_t address = 0;
    uint16_t count = 0;
    std::vector<PlannedSlot> slots;
};

/// Position of a table in the plan's order: coil, discrete, holding, input.
int function_rank(config::RegisterFunction f);

/// Groups registers by function, sorts by address, and merges neighbours whose gap is at
/// most limits.max_gap while the request stays within the count limit and no cut lies
/// between the request's start and the next value. Registers that overlap are allowed (the
/// same words decoded two ways). A value that by itself exceeds the limit (a very long
/// string) gets a request of its own, still capped by the protocol.
std::vector<PlannedRead> plan_reads(const std::vector<config::RegisterConfig>& registers,
                                    const PlanLimits& limits);

}  // namespace kaa::modbus
