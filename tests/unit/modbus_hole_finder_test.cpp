// Learning where a meter refuses merged reads: the bisection, the planner's cuts, and a
// poller that reaches the fewest requests after one refused poll and keeps what it learnt.
#include <gtest/gtest.h>

#include "drivers/modbus/hole_finder.hpp"
#include "drivers/modbus/meter_poller.hpp"
#include "tests/fakes/fake_clock.hpp"
#include "tests/fakes/holey_meter.hpp"

namespace kaa::modbus {
namespace {

using config::RegisterFunction;
using config::ValueType;

config::RegisterConfig reg(const std::string& name, int address, ValueType type,
                           RegisterFunction f = RegisterFunction::kInput) {
    config::RegisterConfig r;
    r.name = name;
    r.address = address;
    r.type = type;
    r.function = f;
    return r;
}

/// Float32 values at the given addresses of the input table.
std::vector<config::RegisterConfig> floats_at(const std::vector<int>& addresses) {
    std::vector<config::RegisterConfig> regs;
    for (int a : addresses)
        regs.push_back(reg("v" + std::to_string(a), a, ValueType::kFloat32));
    return regs;
}

/// The default limits with another max_gap.
PlanLimits gap_of(int max_gap) {
    PlanLimits limits;
    limits.max_gap = max_gap;
    return limits;
}

ReadFunction reader(fakes::HoleyMeter& meter) {
    return [&meter](const PlannedRead& r) { return meter.read(1, r.function, r.address, r.count); };
}

TEST(HoleFinder, BothHalvesAnsweredMeansTheMiddleIsACut) {
    const auto regs = floats_at({0, 2, 10, 12});  // a hole at 4..9
    fakes::HoleyMeter meter(regs);
    const auto plan = plan_reads(regs, gap_of(20));
    ASSERT_EQ(plan.size(), 1u);
    const HoleSearch found = find_holes(plan[0], reader(meter));
    ASSERT_EQ(found.cuts.size(), 1u);
    EXPECT_EQ(found.cuts[0], (ReadCut{RegisterFunction::kInput, 10}));
    ASSERT_EQ(found.answered.size(), 2u);
    EXPECT_EQ(found.answered[0].read.address, 0);
    EXPECT_EQ(found.answered[0].read.count, 4);
    EXPECT_EQ(found.answered[1].read.address, 10);
    EXPECT_EQ(found.answered[1].read.count, 4);
    EXPECT_EQ(found.answered[1].words[2], 12);  // the words of address 12 are where they belong
    EXPECT_TRUE(found.refused.empty());
    EXPECT_FALSE(found.stopped_by);
    EXPECT_EQ(found.requests, 2);
}

TEST(HoleFinder, ACutOffTheMiddleIsFoundAndTheNeighboursOfTheMiddleRejoined) {
    // Holes at 2..3 (between the first two values) only: the halves are {0, 4} and {6, 8};
    // the left half is refused, the right answered; the pieces either side of the middle
    // (4 and 6..9) are tried together and join.
    const auto regs = floats_at({0, 4, 6, 8});
    fakes::HoleyMeter meter(regs);
    const auto plan = plan_reads(regs, gap_of(20));
    ASSERT_EQ(plan.size(), 1u);
    const HoleSearch found = find_holes(plan[0], reader(meter));
    ASSERT_EQ(found.cuts.size(), 1u);
    EXPECT_EQ(found.cuts[0].address, 4);
    ASSERT_EQ(found.answered.size(), 2u);
    EXPECT_EQ(found.answered[0].read.address, 0);
    EXPECT_EQ(found.answered[1].read.address, 4);
    EXPECT_EQ(found.answered[1].read.count, 6);  // 4..9 in one request
}

TEST(HoleFinder, AValueRefusedOnItsOwnIsNamedAndCutOffBothSides) {
    auto regs = floats_at({0, 2, 4});
    fakes::HoleyMeter meter(floats_at({0, 4}));  // the meter has no address 2 or 3
    const auto plan = plan_reads(regs, PlanLimits{});
    ASSERT_EQ(plan.size(), 1u);
    const HoleSearch found = find_holes(plan[0], reader(meter));
    ASSERT_EQ(found.refused.size(), 1u);
    EXPECT_EQ(found.refused[0].read.address, 2);
    EXPECT_EQ(found.refused[0].error.code, 2);
    ASSERT_EQ(found.cuts.size(), 2u);
    EXPECT_EQ(found.cuts[0].address, 2);
    EXPECT_EQ(found.cuts[1].address, 4);
    ASSERT_EQ(found.answered.size(), 2u);
}

TEST(HoleFinder, ATimeoutEndsTheSearch) {
    const auto regs = floats_at({0, 10});
    const auto plan = plan_reads(regs, gap_of(20));
    int calls = 0;
    const HoleSearch found = find_holes(plan[0], [&](const PlannedRead&) {
        ++calls;
        return Result<std::vector<uint16_t>>(make_error(ErrorKind::kTimeout, "no answer"));
    });
    ASSERT_TRUE(found.stopped_by);
    EXPECT_EQ(found.stopped_by->kind, ErrorKind::kTimeout);
    EXPECT_EQ(calls, 1);
    EXPECT_TRUE(found.cuts.empty());
}

TEST(Planner, NeverMergesAcrossACut) {
    const auto regs = floats_at({0, 2, 10, 12, 20});
    PlanLimits limits = gap_of(20);
    limits.cuts = {{RegisterFunction::kInput, 10}, {RegisterFunction::kHolding, 20}};
    const auto plan = plan_reads(regs, limits);
    ASSERT_EQ(plan.size(), 2u);  // the holding cut does not concern the input table
    EXPECT_EQ(plan[0].address, 0);
    EXPECT_EQ(plan[0].count, 4);
    EXPECT_EQ(plan[1].address, 10);
    EXPECT_EQ(plan[1].count, 12);
}

/// An SDM630-like map: 2-word values with holes of various widths between groups.
std::vector<config::RegisterConfig> grouped_map() {
    std::vector<int> addresses;
    for (int group = 0; group < 8; ++group) {
        const int base = group * 40 + (group % 3) * 2;
        for (int v = 0; v < 3 + group % 4; ++v)
            addresses.push_back(base + 2 * v);
    }
    return floats_at(addresses);
}

class LearningPoller : public ::testing::Test {
  protected:
    LearningPoller() : regs(grouped_map()), meter_fake(regs) {
        bus.name = "rs485-1";
        bus.retries = 0;
        meter.name = "sdm";
        meter.bus = bus.name;
        meter.unit = 1;
        meter.max_gap = 40;  // generous: every group merges with the next until refused
        meter.registers = regs;
    }
    BusLine line() {
        return BusLine(bus, meter_fake, clock, [](Clock::Monotonic) { return true; });
    }
    /// The fewest requests that read no missing address (each group is one request).
    size_t minimal() const {
        const PlanLimits limits = gap_of(0);
        return plan_reads(regs, limits).size();
    }

    fakes::FakeClock clock;
    std::vector<config::RegisterConfig> regs;
    fakes::HoleyMeter meter_fake;
    config::BusConfig bus;
    config::MeterConfig meter;
};

TEST_F(LearningPoller, OneRefusedPollLearnsTheFewestRequestsAndKeepsEveryValue) {
    LearnedCuts learned;
    MeterPoller poller(0, meter, bus.name, clock, &learned);
    auto l = line();
    auto first = poller.poll(l);
    ASSERT_TRUE(first.sample);
    for (const Reading& r : first.sample->readings)
        EXPECT_EQ(r.quality, Quality::kGood) << r.name;  // every value read in the first poll
    EXPECT_GT(meter_fake.refusals, 0);
    EXPECT_EQ(poller.plan().size(), minimal());
    EXPECT_EQ(learned.cuts_of(LearnedCuts::key_of(meter)), poller.cuts());

    meter_fake.requests = 0;
    meter_fake.refusals = 0;
    auto second = poller.poll(l);
    ASSERT_TRUE(second.sample);
    EXPECT_EQ(meter_fake.refusals, 0);
    EXPECT_EQ(static_cast<size_t>(meter_fake.requests), minimal());
    EXPECT_EQ(minimal(), 8u);
}

TEST_F(LearningPoller, APollerBuiltAfterAReloadStartsFromWhatWasLearnt) {
    LearnedCuts learned;
    {
        MeterPoller poller(0, meter, bus.name, clock, &learned);
        auto l = line();
        poller.poll(l);
    }
    meter_fake.requests = 0;
    meter_fake.refusals = 0;
    MeterPoller again(0, meter, bus.name, clock, &learned);
    EXPECT_EQ(again.plan().size(), minimal());
    auto l = line();
    ASSERT_TRUE(again.poll(l).sample);
    EXPECT_EQ(meter_fake.refusals, 0);

    config::MeterConfig other = meter;
    other.unit = 2;  // another device: nothing is known about it
    MeterPoller stranger(1, other, bus.name, clock, &learned);
    EXPECT_LT(stranger.plan().size(), minimal());
}

}  // namespace
}  // namespace kaa::modbus
