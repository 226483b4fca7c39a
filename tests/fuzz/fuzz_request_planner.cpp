// Fuzz target: the Modbus request planner (request_planner.hpp) on register maps made from
// the input: functions, types, string lengths, addresses (often next to or over the previous
// register's, so that reads merge and overlap), max_gap and the per-read limits. The plan
// must cover every register by exactly one slot, whole and where it is; keep each read in its
// table, in the address space and within its limit (or alone when one value is larger);
// span no more than its slots; never reach from before a cut (a place the meter refused,
// hole_finder.hpp) to a value at or after it; and leave no two neighbours that the limits
// and the cuts let merge.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "drivers/modbus/request_planner.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using kaa::config::RegisterConfig;
using kaa::config::RegisterFunction;
using kaa::config::ValueType;
using kaa::modbus::PlanLimits;
using kaa::modbus::PlannedRead;

constexpr RegisterFunction kFunctions[] = {RegisterFunction::kHolding, RegisterFunction::kInput,
                                           RegisterFunction::kCoil, RegisterFunction::kDiscrete};
constexpr ValueType kTypes[] = {ValueType::kBool,   ValueType::kInt16,   ValueType::kUint16,
                                ValueType::kInt32,  ValueType::kUint32,  ValueType::kInt64,
                                ValueType::kUint64, ValueType::kFloat32, ValueType::kFloat64,
                                ValueType::kString};
constexpr int kAddressSpace = 65536;
constexpr int kMaxRegisters = 400;  // more than any real meter; keeps an input cheap

/// Stops the run with a reason when an invariant of the plan does not hold.
void check(bool ok, const char* what) {
    kaa::fuzz::check(ok, "fuzz_request_planner", what);
}

/// Words (or bits) a register occupies, as the configuration defines it.
int width(const RegisterConfig& reg) {
    return kaa::config::is_bit_function(reg.function)
               ? 1
               : kaa::config::register_count(reg.type, reg.length);
}

/// A register map as the configuration allows it: every value ends inside the address space.
std::vector<RegisterConfig> consume_registers(FuzzedDataProvider& in) {
    std::vector<RegisterConfig> regs;
    const int n = in.ConsumeIntegralInRange<int>(0, kMaxRegisters);
    int previous = 0;
    for (int i = 0; i < n && in.remaining_bytes() > 0; ++i) {
        RegisterConfig reg;
        reg.function = in.PickValueInArray(kFunctions);
        reg.type = kaa::config::is_bit_function(reg.function) ? ValueType::kBool
                                                              : in.PickValueInArray(kTypes);
        if (reg.type == ValueType::kString)
            reg.length = in.ConsumeIntegralInRange<int>(1, 123);
        int address = 0;
        switch (in.ConsumeIntegralInRange<int>(0, 3)) {
            case 0:
                address = in.ConsumeIntegralInRange<int>(0, kAddressSpace - 1);
                break;
            case 1:  // at or just before the previous one: overlaps
                address = previous - in.ConsumeIntegralInRange<int>(0, 4);
                break;
            default:  // a little after the previous one: a gap to merge across, or not
                address = previous + in.ConsumeIntegralInRange<int>(0, 140);
        }
        address = std::clamp(address, 0, kAddressSpace - width(reg));
        reg.address = static_cast<uint16_t>(address);
        previous = address;
        regs.push_back(reg);
    }
    return regs;
}

/// Up to 8 cuts, most of them at a register's address (where learning puts them).
std::vector<kaa::modbus::ReadCut> consume_cuts(FuzzedDataProvider& in,
                                               const std::vector<RegisterConfig>& regs) {
    std::vector<kaa::modbus::ReadCut> cuts;
    const int n = in.ConsumeIntegralInRange<int>(0, 8);
    for (int i = 0; i < n && in.remaining_bytes() > 0; ++i) {
        if (!regs.empty() && in.ConsumeBool()) {
            const auto& reg = regs[in.ConsumeIntegralInRange<size_t>(0, regs.size() - 1)];
            cuts.push_back({reg.function, static_cast<uint16_t>(reg.address)});
        } else {
            cuts.push_back({in.PickValueInArray(kFunctions), in.ConsumeIntegral<uint16_t>()});
        }
    }
    return cuts;
}

/// True when a cut of `function` lies in (start, address].
bool cut_between(const PlanLimits& limits, RegisterFunction function, int start, int address) {
    return std::any_of(limits.cuts.begin(), limits.cuts.end(), [&](const auto& c) {
        return c.function == function && c.address > start && c.address <= address;
    });
}

/// The limit a read of `function` must keep: the planner's clamp of the given limits.
int limit_of(RegisterFunction function, const PlanLimits& limits) {
    return kaa::config::is_bit_function(function) ? std::clamp(limits.max_bits, 1, 2000)
                                                  : std::clamp(limits.max_registers, 1, 125);
}

/// Checks one read against the registers its slots name.
void check_read(const PlannedRead& read, const std::vector<RegisterConfig>& regs,
                const PlanLimits& limits, std::vector<int>& seen) {
    check(read.count >= 1, "an empty read");
    check(read.address + read.count <= kAddressSpace, "a read past address 65535");
    check(!read.slots.empty(), "a read that feeds no register");
    int first = kAddressSpace;
    int end = 0;
    for (const auto& slot : read.slots) {
        check(slot.register_index < regs.size(), "a slot for a register that does not exist");
        const RegisterConfig& reg = regs[slot.register_index];
        ++seen[slot.register_index];
        check(reg.function == read.function, "a register read from another table");
        check(read.address + slot.offset == reg.address, "a slot not where its register is");
        check(slot.count == width(reg), "a register not read whole");
        check(slot.offset + slot.count <= read.count, "a slot past the end of its read");
        check(!cut_between(limits, read.function, read.address, reg.address),
              "a read that reaches across a cut");
        first = std::min<int>(first, slot.offset);
        end = std::max<int>(end, slot.offset + slot.count);
    }
    check(first == 0 && end == read.count, "a read longer than the registers it feeds");
    const int limit = limit_of(read.function, limits);
    if (read.count > limit) {
        check(read.slots.size() == 1 || read.slots[0].count == read.count,
              "a read over the limit that is not one value's own");
    }
    // Merged across gaps of at most max_gap: sorted by offset, each slot starts at most
    // max_gap after what the slots before it cover.
    std::vector<std::pair<int, int>> spans;
    for (const auto& slot : read.slots)
        spans.emplace_back(slot.offset, slot.offset + slot.count);
    std::sort(spans.begin(), spans.end());
    int covered = 0;
    for (const auto& [from, to] : spans) {
        check(from - covered <= std::max(limits.max_gap, 0), "a merged gap wider than max_gap");
        covered = std::max(covered, to);
    }
}

/// Checks that two neighbouring reads of a table could not have been one.
void check_neighbours(const PlannedRead& a, const PlannedRead& b,
                      const std::vector<RegisterConfig>& regs, const PlanLimits& limits) {
    check(kaa::modbus::function_rank(a.function) <= kaa::modbus::function_rank(b.function),
          "the tables out of order");
    if (a.function != b.function)
        return;
    check(a.address <= b.address, "reads of a table out of address order");
    const int a_end = a.address + a.count;
    const RegisterConfig& next = regs[b.slots.front().register_index];
    const int gap = next.address - a_end;
    const int merged_end = std::max(a_end, next.address + width(next));
    const bool could_merge = gap <= limits.max_gap &&
                             merged_end - a.address <= limit_of(a.function, limits) &&
                             !cut_between(limits, a.function, a.address, next.address);
    check(!could_merge, "two reads that the limits let merge");
}

}  // namespace

/// libFuzzer's entry point: one input is the limits and a register map.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    PlanLimits limits;
    limits.max_gap = in.ConsumeIntegralInRange<int>(0, 125);
    limits.max_registers = in.ConsumeIntegralInRange<int>(0, 130);
    limits.max_bits = in.ConsumeBool() ? 2000 : in.ConsumeIntegralInRange<int>(0, 2100);
    const std::vector<RegisterConfig> regs = consume_registers(in);
    limits.cuts = consume_cuts(in, regs);

    const std::vector<PlannedRead> plan = kaa::modbus::plan_reads(regs, limits);
    std::vector<int> seen(regs.size(), 0);
    for (size_t r = 0; r < plan.size(); ++r) {
        check_read(plan[r], regs, limits, seen);
        if (r > 0)
            check_neighbours(plan[r - 1], plan[r], regs, limits);
    }
    for (int times : seen)
        check(times == 1, "a register not read, or read twice");
    return 0;
}
