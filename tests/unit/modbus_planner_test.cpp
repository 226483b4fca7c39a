// Request planner: merging, gaps, count limits, function separation and slot offsets.
#include "drivers/modbus/request_planner.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace kaa::modbus {
namespace {

using config::RegisterConfig;
using config::RegisterFunction;
using config::ValueType;

/// A register at an address, holding uint16 unless told otherwise.
RegisterConfig reg_at(uint16_t address, ValueType type = ValueType::kUint16,
                      RegisterFunction function = RegisterFunction::kHolding, int length = 0) {
    RegisterConfig reg;
    reg.name = "r" + std::to_string(address);
    reg.address = address;
    reg.type = type;
    reg.function = function;
    reg.length = length;
    return reg;
}

/// A coil at an address.
RegisterConfig coil_at(uint16_t address) {
    return reg_at(address, ValueType::kBool, RegisterFunction::kCoil);
}

/// Registers of one type at consecutive addresses first..first+n-1 (one per address).
std::vector<RegisterConfig> run_of(uint16_t first, int n, RegisterFunction function) {
    std::vector<RegisterConfig> regs;
    const ValueType type =
        config::is_bit_function(function) ? ValueType::kBool : ValueType::kUint16;
    for (int i = 0; i < n; ++i) {
        regs.push_back(reg_at(static_cast<uint16_t>(first + i), type, function));
    }
    return regs;
}

/// Plan limits with the defaults of the configuration.
PlanLimits limits(int max_gap = 8, int max_registers = 125, int max_bits = 2000) {
    PlanLimits l;
    l.max_gap = max_gap;
    l.max_registers = max_registers;
    l.max_bits = max_bits;
    return l;
}

/// Every slot lies inside its read, and every register appears in exactly one slot.
void expect_consistent(const std::vector<PlannedRead>& plan, size_t register_count) {
    std::vector<int> seen(register_count, 0);
    for (const PlannedRead& read : plan) {
        EXPECT_GT(read.count, 0);
        for (const PlannedSlot& slot : read.slots) {
            ASSERT_LT(slot.register_index, register_count);
            ++seen[slot.register_index];
            EXPECT_LE(slot.offset + slot.count, read.count);
        }
    }
    for (size_t i = 0; i < register_count; ++i) {
        EXPECT_EQ(seen[i], 1) << "register " << i;
    }
}

TEST(ModbusPlanner, EmptyListGivesNoReads) {
    EXPECT_TRUE(plan_reads({}, limits()).empty());
}

TEST(ModbusPlanner, AdjacentRegistersMerge) {
    const std::vector<RegisterConfig> regs = {
        reg_at(0, ValueType::kUint16), reg_at(1, ValueType::kUint32),
        reg_at(3, ValueType::kFloat32), reg_at(5, ValueType::kFloat64)};
    const auto plan = plan_reads(regs, limits());
    ASSERT_EQ(plan.size(), 1u);
    EXPECT_EQ(plan[0].function, RegisterFunction::kHolding);
    EXPECT_EQ(plan[0].address, 0);
    EXPECT_EQ(plan[0].count, 9);
    ASSERT_EQ(plan[0].slots.size(), 4u);
    const uint16_t offsets[] = {0, 1, 3, 5};
    const uint16_t counts[] = {1, 2, 2, 4};
    for (size_t i = 0; i < 4; ++i) {
        EXPECT_EQ(plan[0].slots[i].register_index, i);
        EXPECT_EQ(plan[0].slots[i].offset, offsets[i]);
        EXPECT_EQ(plan[0].slots[i].count, counts[i]);
    }
    expect_consistent(plan, regs.size());
}

TEST(ModbusPlanner, GapUpToMaxGapMerges) {
    // First register ends at 1; the next starts at 9: a gap of 8.
    const std::vector<RegisterConfig> regs = {reg_at(0), reg_at(9)};
    const auto plan = plan_reads(regs, limits(8));
    ASSERT_EQ(plan.size(), 1u);
    EXPECT_EQ(plan[0].address, 0);
    EXPECT_EQ(plan[0].count, 10);
    EXPECT_EQ(plan[0].slots[1].offset, 9);
}

TEST(ModbusPlanner, GapAboveMaxGapSplits) {
    // A gap of 9 with max_gap 8.
    const std::vector<RegisterConfig> regs = {reg_at(0), reg_at(10)};
    const auto plan = plan_reads(regs, limits(8));
    ASSERT_EQ(plan.size(), 2u);
    EXPECT_EQ(plan[0].address, 0);
    EXPECT_EQ(plan[0].count, 1);
    EXPECT_EQ(plan[1].address, 10);
    EXPECT_EQ(plan[1].count, 1);
    EXPECT_EQ(plan[1].slots[0].register_index, 1u);
    EXPECT_EQ(plan[1].slots[0].offset, 0);
}

TEST(ModbusPlanner, ZeroMaxGapMergesOnlyAdjacent) {
    const std::vector<RegisterConfig> regs = {reg_at(0), reg_at(1), reg_at(3)};
    const auto plan = plan_reads(regs, limits(0));
    ASSERT_EQ(plan.size(), 2u);
    EXPECT_EQ(plan[0].count, 2);
    EXPECT_EQ(plan[1].address, 3);
}

TEST(ModbusPlanner, GapMeasuredFromEndOfWideValue) {
    // A float64 at 0 ends at 4; a register at 12 leaves a gap of 8.
    const std::vector<RegisterConfig> regs = {reg_at(0, ValueType::kFloat64), reg_at(12)};
    const auto plan = plan_reads(regs, limits(8));
    ASSERT_EQ(plan.size(), 1u);
    EXPECT_EQ(plan[0].count, 13);
}

TEST(ModbusPlanner, At125RegistersARequestSplits) {
    const auto regs = run_of(0, 130, RegisterFunction::kHolding);
    const auto plan = plan_reads(regs, limits());
    ASSERT_EQ(plan.size(), 2u);
    EXPECT_EQ(plan[0].address, 0);
    EXPECT_EQ(plan[0].count, 125);
    EXPECT_EQ(plan[0].slots.size(), 125u);
    EXPECT_EQ(plan[1].address, 125);
    EXPECT_EQ(plan[1].count, 5);
    EXPECT_EQ(plan[1].slots[0].register_index, 125u);
    EXPECT_EQ(plan[1].slots[0].offset, 0);
    expect_consistent(plan, regs.size());
}

TEST(ModbusPlanner, ValueIsNeverSplitAcrossRequests) {
    // 124 single registers then a float32 at 124..125: the float would make 126.
    auto regs = run_of(0, 124, RegisterFunction::kHolding);
    regs.push_back(reg_at(124, ValueType::kFloat32));
    const auto plan = plan_reads(regs, limits());
    ASSERT_EQ(plan.size(), 2u);
    EXPECT_EQ(plan[0].count, 124);
    EXPECT_EQ(plan[1].address, 124);
    EXPECT_EQ(plan[1].count, 2);
    EXPECT_EQ(plan[1].slots[0].count, 2);
}

TEST(ModbusPlanner, MaxRegistersAbove125IsCapped) {
    const auto regs = run_of(0, 300, RegisterFunction::kInput);
    const auto plan = plan_reads(regs, limits(8, 1000));
    ASSERT_EQ(plan.size(), 3u);
    EXPECT_EQ(plan[0].count, 125);
    EXPECT_EQ(plan[1].address, 125);
    EXPECT_EQ(plan[1].count, 125);
    EXPECT_EQ(plan[2].address, 250);
    EXPECT_EQ(plan[2].count, 50);
    expect_consistent(plan, regs.size());
}

TEST(ModbusPlanner, LowerMaxRegistersIsHonoured) {
    const auto regs = run_of(100, 25, RegisterFunction::kHolding);
    const auto plan = plan_reads(regs, limits(8, 10));
    ASSERT_EQ(plan.size(), 3u);
    EXPECT_EQ(plan[0].address, 100);
    EXPECT_EQ(plan[0].count, 10);
    EXPECT_EQ(plan[1].address, 110);
    EXPECT_EQ(plan[1].count, 10);
    EXPECT_EQ(plan[2].address, 120);
    EXPECT_EQ(plan[2].count, 5);
    expect_consistent(plan, regs.size());
}

TEST(ModbusPlanner, LowerMaxRegistersCountsTheGap) {
    // 0 and 9 would merge into 10 registers, but max_registers is 9.
    const std::vector<RegisterConfig> regs = {reg_at(0), reg_at(9)};
    EXPECT_EQ(plan_reads(regs, limits(8, 9)).size(), 2u);
    EXPECT_EQ(plan_reads(regs, limits(8, 10)).size(), 1u);
}

TEST(ModbusPlanner, At2000BitsARequestSplits) {
    const auto regs = run_of(0, 2100, RegisterFunction::kCoil);
    const auto plan = plan_reads(regs, limits());
    ASSERT_EQ(plan.size(), 2u);
    EXPECT_EQ(plan[0].function, RegisterFunction::kCoil);
    EXPECT_EQ(plan[0].address, 0);
    EXPECT_EQ(plan[0].count, 2000);
    EXPECT_EQ(plan[1].address, 2000);
    EXPECT_EQ(plan[1].count, 100);
    expect_consistent(plan, regs.size());
}

TEST(ModbusPlanner, BitLimitIsIndependentOfRegisterLimit) {
    // max_registers does not apply to bits; max_bits above 2000 is capped.
    const auto regs = run_of(0, 2500, RegisterFunction::kDiscrete);
    const auto plan = plan_reads(regs, limits(8, 10, 5000));
    ASSERT_EQ(plan.size(), 2u);
    EXPECT_EQ(plan[0].count, 2000);
    EXPECT_EQ(plan[1].count, 500);
    const auto small = plan_reads(regs, limits(8, 125, 1000));
    ASSERT_EQ(small.size(), 3u);
    EXPECT_EQ(small[0].count, 1000);
}

TEST(ModbusPlanner, BitsAreOneEachWhateverTheType) {
    // A coil configured with a wide type still occupies one bit.
    const std::vector<RegisterConfig> regs = {
        reg_at(0, ValueType::kFloat64, RegisterFunction::kCoil), coil_at(1), coil_at(6)};
    const auto plan = plan_reads(regs, limits());
    ASSERT_EQ(plan.size(), 1u);
    EXPECT_EQ(plan[0].count, 7);
    EXPECT_EQ(plan[0].slots[0].count, 1);
    EXPECT_EQ(plan[0].slots[1].offset, 1);
    EXPECT_EQ(plan[0].slots[2].offset, 6);
    EXPECT_EQ(plan[0].slots[2].count, 1);
}

TEST(ModbusPlanner, FunctionsAreNeverMixedAndComeInOrder) {
    // Same addresses in four tables, listed in reverse order.
    const std::vector<RegisterConfig> regs = {
        reg_at(0, ValueType::kUint16, RegisterFunction::kInput),
        reg_at(0, ValueType::kUint16, RegisterFunction::kHolding),
        reg_at(1, ValueType::kBool, RegisterFunction::kDiscrete),
        reg_at(1, ValueType::kBool, RegisterFunction::kCoil),
        reg_at(1, ValueType::kUint16, RegisterFunction::kInput),
        reg_at(0, ValueType::kBool, RegisterFunction::kCoil),
    };
    const auto plan = plan_reads(regs, limits());
    ASSERT_EQ(plan.size(), 4u);
    EXPECT_EQ(plan[0].function, RegisterFunction::kCoil);
    EXPECT_EQ(plan[1].function, RegisterFunction::kDiscrete);
    EXPECT_EQ(plan[2].function, RegisterFunction::kHolding);
    EXPECT_EQ(plan[3].function, RegisterFunction::kInput);
    for (const PlannedRead& read : plan) {
        for (const PlannedSlot& slot : read.slots) {
            EXPECT_EQ(regs[slot.register_index].function, read.function);
        }
    }
    // Coils 0 and 1 merged, slots ordered by address.
    EXPECT_EQ(plan[0].count, 2);
    EXPECT_EQ(plan[0].slots[0].register_index, 5u);
    EXPECT_EQ(plan[0].slots[1].register_index, 3u);
    // Discrete input 1 alone.
    EXPECT_EQ(plan[1].address, 1);
    EXPECT_EQ(plan[1].count, 1);
    // Input 0 and 1 merged.
    EXPECT_EQ(plan[3].count, 2);
    EXPECT_EQ(plan[3].slots[0].register_index, 0u);
    EXPECT_EQ(plan[3].slots[1].register_index, 4u);
    expect_consistent(plan, regs.size());
}

TEST(ModbusPlanner, BitsAndWordsNeverShareARequest) {
    // Holding 5 and coil 5 would be "adjacent" if tables were mixed.
    const std::vector<RegisterConfig> regs = {reg_at(5), coil_at(5), coil_at(6), reg_at(6)};
    const auto plan = plan_reads(regs, limits());
    ASSERT_EQ(plan.size(), 2u);
    EXPECT_EQ(plan[0].function, RegisterFunction::kCoil);
    EXPECT_EQ(plan[0].count, 2);
    EXPECT_EQ(plan[1].function, RegisterFunction::kHolding);
    EXPECT_EQ(plan[1].count, 2);
    expect_consistent(plan, regs.size());
}

TEST(ModbusPlanner, OverlappingAndDuplicateRegisters) {
    const std::vector<RegisterConfig> regs = {
        reg_at(10, ValueType::kUint32),   // words 10..11
        reg_at(11, ValueType::kUint16),   // word 11, inside the first
        reg_at(10, ValueType::kFloat32),  // the same words decoded another way
        reg_at(10, ValueType::kUint32),   // an exact duplicate
        reg_at(11, ValueType::kInt32),    // 11..12, extends the request by one
    };
    const auto plan = plan_reads(regs, limits());
    ASSERT_EQ(plan.size(), 1u);
    EXPECT_EQ(plan[0].address, 10);
    EXPECT_EQ(plan[0].count, 3);
    ASSERT_EQ(plan[0].slots.size(), 5u);
    // Stable order: by address, then as configured.
    const size_t indices[] = {0, 2, 3, 1, 4};
    const uint16_t offsets[] = {0, 0, 0, 1, 1};
    const uint16_t counts[] = {2, 2, 2, 1, 2};
    for (size_t i = 0; i < 5; ++i) {
        EXPECT_EQ(plan[0].slots[i].register_index, indices[i]);
        EXPECT_EQ(plan[0].slots[i].offset, offsets[i]);
        EXPECT_EQ(plan[0].slots[i].count, counts[i]);
    }
    expect_consistent(plan, regs.size());
}

TEST(ModbusPlanner, SlotOffsetsFromUnsortedInput) {
    const std::vector<RegisterConfig> regs = {
        reg_at(40, ValueType::kFloat32), reg_at(30, ValueType::kInt16),
        reg_at(34, ValueType::kUint64), reg_at(100, ValueType::kUint16),
        reg_at(38, ValueType::kInt32)};
    const auto plan = plan_reads(regs, limits(8));
    ASSERT_EQ(plan.size(), 2u);
    EXPECT_EQ(plan[0].address, 30);
    EXPECT_EQ(plan[0].count, 12);  // 30..41
    ASSERT_EQ(plan[0].slots.size(), 4u);
    EXPECT_EQ(plan[0].slots[0].register_index, 1u);
    EXPECT_EQ(plan[0].slots[0].offset, 0);
    EXPECT_EQ(plan[0].slots[1].register_index, 2u);
    EXPECT_EQ(plan[0].slots[1].offset, 4);
    EXPECT_EQ(plan[0].slots[1].count, 4);
    EXPECT_EQ(plan[0].slots[2].register_index, 4u);
    EXPECT_EQ(plan[0].slots[2].offset, 8);
    EXPECT_EQ(plan[0].slots[3].register_index, 0u);
    EXPECT_EQ(plan[0].slots[3].offset, 10);
    EXPECT_EQ(plan[1].address, 100);
    EXPECT_EQ(plan[1].slots[0].register_index, 3u);
    expect_consistent(plan, regs.size());
}

TEST(ModbusPlanner, LongStringMergesWhenItFits) {
    const std::vector<RegisterConfig> regs = {
        reg_at(0, ValueType::kString, RegisterFunction::kHolding, 100), reg_at(100)};
    const auto plan = plan_reads(regs, limits());
    ASSERT_EQ(plan.size(), 1u);
    EXPECT_EQ(plan[0].count, 101);
    EXPECT_EQ(plan[0].slots[0].count, 100);
    EXPECT_EQ(plan[0].slots[1].offset, 100);
}

TEST(ModbusPlanner, LongStringBeyondTheLimitsGetsItsOwnRequest) {
    // 123 registers at 10..132 can join neither register 0 (span 133) nor 140 (span 131).
    const std::vector<RegisterConfig> regs = {
        reg_at(0), reg_at(10, ValueType::kString, RegisterFunction::kHolding, 123), reg_at(140)};
    const auto plan = plan_reads(regs, limits());
    ASSERT_EQ(plan.size(), 3u);
    EXPECT_EQ(plan[0].address, 0);
    EXPECT_EQ(plan[0].count, 1);
    EXPECT_EQ(plan[1].address, 10);
    EXPECT_EQ(plan[1].count, 123);
    EXPECT_EQ(plan[1].slots[0].register_index, 1u);
    EXPECT_EQ(plan[1].slots[0].count, 123);
    EXPECT_EQ(plan[2].address, 140);
    expect_consistent(plan, regs.size());
}

TEST(ModbusPlanner, StringLongerThanMaxRegistersStillReadWhole) {
    // max_registers 20, string of 40: one request of 40 (within the protocol's 125).
    const std::vector<RegisterConfig> regs = {
        reg_at(0, ValueType::kString, RegisterFunction::kHolding, 40), reg_at(40)};
    const auto plan = plan_reads(regs, limits(8, 20));
    ASSERT_EQ(plan.size(), 2u);
    EXPECT_EQ(plan[0].count, 40);
    EXPECT_EQ(plan[0].slots[0].count, 40);
    EXPECT_EQ(plan[1].address, 40);
    EXPECT_EQ(plan[1].count, 1);
}

TEST(ModbusPlanner, ValueBeyondTheProtocolIsCapped) {
    const std::vector<RegisterConfig> regs = {
        reg_at(0, ValueType::kString, RegisterFunction::kHolding, 200)};
    const auto plan = plan_reads(regs, limits());
    ASSERT_EQ(plan.size(), 1u);
    EXPECT_EQ(plan[0].count, 125);
    EXPECT_EQ(plan[0].slots[0].count, 125);
}

TEST(ModbusPlanner, ReadsEndingAtTheLastAddress) {
    const std::vector<RegisterConfig> regs = {reg_at(65532, ValueType::kUint64)};
    const auto plan = plan_reads(regs, limits());
    ASSERT_EQ(plan.size(), 1u);
    EXPECT_EQ(plan[0].address, 65532);
    EXPECT_EQ(plan[0].count, 4);
}

}  // namespace
}  // namespace kaa::modbus
