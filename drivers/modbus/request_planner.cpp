// Groups a meter's registers into as few Modbus read requests as the limits allow.
#include "drivers/modbus/request_planner.hpp"

#include <algorithm>

namespace kaa::modbus {

int function_rank(config::RegisterFunction f) {
    switch (f) {
        case config::RegisterFunction::kCoil:
            return 0;
        case config::RegisterFunction::kDiscrete:
            return 1;
        case config::RegisterFunction::kHolding:
            return 2;
        case config::RegisterFunction::kInput:
            return 3;
    }
    return 4;
}

namespace {

using config::RegisterFunction;

constexpr int kProtocolMaxRegisters = 125;
constexpr int kProtocolMaxBits = 2000;
constexpr int kAddressSpace = 65536;

/// One configured value: which table, where it starts and how many words (or bits) it spans.
struct Item {
    RegisterFunction function;
    int address;
    int count;
    size_t index;
};

/// A request being built: its first address and one past its last.
struct Pending {
    RegisterFunction function;
    int start;
    int end;
    std::vector<const Item*> items;
};

/// Turns a pending request into a PlannedRead, capping its size at the protocol maximum.
PlannedRead finish(const Pending& p) {
    const int cap = config::is_bit_function(p.function) ? kProtocolMaxBits : kProtocolMaxRegisters;
    const int count = std::min({p.end - p.start, cap, kAddressSpace - p.start});
    PlannedRead read;
    read.function = p.function;
    read.address = static_cast<uint16_t>(p.start);
    read.count = static_cast<uint16_t>(count);
    for (const Item* item : p.items) {
        const int offset = item->address - p.start;
        PlannedSlot slot;
        slot.register_index = item->index;
        slot.offset = static_cast<uint16_t>(offset);
        slot.count = static_cast<uint16_t>(std::clamp(count - offset, 0, item->count));
        read.slots.push_back(slot);
    }
    return read;
}

/// True when a cut of `function` lies in (start, address]: a read from `start` may not
/// extend to a value at `address`.
bool cut_between(const std::vector<ReadCut>& cuts, RegisterFunction function, int start,
                 int address) {
    return std::any_of(cuts.begin(), cuts.end(), [&](const ReadCut& c) {
        return c.function == function && c.address > start && c.address <= address;
    });
}

}  // namespace

std::vector<PlannedRead> plan_reads(const std::vector<config::RegisterConfig>& registers,
                                    const PlanLimits& limits) {
    std::vector<Item> items;
    items.reserve(registers.size());
    for (size_t i = 0; i < registers.size(); ++i) {
        const config::RegisterConfig& reg = registers[i];
        const int count = config::is_bit_function(reg.function)
                              ? 1
                              : std::max(1, config::register_count(reg.type, reg.length));
        items.push_back({reg.function, reg.address, count, i});
    }
    std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
        const int ra = function_rank(a.function);
        const int rb = function_rank(b.function);
        if (ra != rb) {
            return ra < rb;
        }
        return a.address < b.address;
    });

    const int word_limit = std::clamp(limits.max_registers, 1, kProtocolMaxRegisters);
    const int bit_limit = std::clamp(limits.max_bits, 1, kProtocolMaxBits);

    std::vector<PlannedRead> plan;
    Pending current{};
    bool have_current = false;
    for (const Item& item : items) {
        const int limit = config::is_bit_function(item.function) ? bit_limit : word_limit;
        const int item_end = item.address + item.count;
        if (have_current && current.function == item.function) {
            const int gap = item.address - current.end;
            const int merged_end = std::max(current.end, item_end);
            if (gap <= limits.max_gap && merged_end - current.start <= limit &&
                !cut_between(limits.cuts, item.function, current.start, item.address)) {
                current.end = merged_end;
                current.items.push_back(&item);
                continue;
            }
        }
        if (have_current) {
            plan.push_back(finish(current));
        }
        current = Pending{item.function, item.address, item_end, {&item}};
        have_current = true;
    }
    if (have_current) {
        plan.push_back(finish(current));
    }
    return plan;
}

}  // namespace kaa::modbus
