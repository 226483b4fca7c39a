// Tests of the simulator's reply faults: which replies are spoiled, and how.
#include "drivers/simulator/reply_faults.hpp"

#include <gtest/gtest.h>

#include <span>

#include "drivers/simulator/modbus_frame.hpp"

namespace kaa::sim {
namespace {

using config::SimCorruption;
using namespace std::chrono_literals;

bool crc_ok(const std::vector<uint8_t>& frame) {
    const uint16_t crc = crc16(std::span<const uint8_t>(frame.data(), frame.size() - 2));
    return frame[frame.size() - 2] == (crc & 0xFF) && frame[frame.size() - 1] == (crc >> 8);
}

std::vector<uint8_t> good_reply() {
    const std::vector<uint8_t> pdu = {0x03, 0x04, 0x00, 0x6F, 0x42, 0x4A};
    return rtu_frame(1, pdu);
}

TEST(SimReplyFaults, NoFaultsByDefault) {
    ReplyFaults faults{config::SimFaults{}};
    for (int i = 0; i < 5; ++i) {
        const ReplyFault f = faults.next();
        EXPECT_EQ(f.delay, 0ms);
        EXPECT_EQ(f.corruption, SimCorruption::kNone);
    }
}

TEST(SimReplyFaults, DelayAppliesToEveryReply) {
    config::SimFaults c;
    c.reply_delay = 400ms;
    ReplyFaults faults{c};
    EXPECT_EQ(faults.next().delay, 400ms);
    EXPECT_EQ(faults.next().delay, 400ms);
}

TEST(SimReplyFaults, EveryNthReplyIsSpoiled) {
    config::SimFaults c;
    c.corrupt = SimCorruption::kCrc;
    c.corrupt_every = 3;
    ReplyFaults faults{c};
    std::vector<SimCorruption> seen;
    for (int i = 0; i < 6; ++i)
        seen.push_back(faults.next().corruption);
    EXPECT_EQ(seen, (std::vector<SimCorruption>{SimCorruption::kNone, SimCorruption::kNone,
                                                SimCorruption::kCrc, SimCorruption::kNone,
                                                SimCorruption::kNone, SimCorruption::kCrc}));
}

TEST(SimSpoilFrame, CrcKeepsTheContentButBreaksTheCrc) {
    std::mt19937 rng(1);
    std::vector<uint8_t> frame = good_reply();
    ASSERT_TRUE(crc_ok(frame));
    const std::vector<uint8_t> before = frame;
    spoil_rtu_frame(frame, SimCorruption::kCrc, rng);
    ASSERT_EQ(frame.size(), before.size());
    EXPECT_TRUE(std::equal(frame.begin(), frame.end() - 2, before.begin()));
    EXPECT_FALSE(crc_ok(frame));
}

TEST(SimSpoilFrame, GarbageIsNoiseThatNeverPassesTheCrc) {
    std::mt19937 rng(7);
    for (int i = 0; i < 2000; ++i) {
        std::vector<uint8_t> frame = good_reply();
        spoil_rtu_frame(frame, SimCorruption::kGarbage, rng);
        ASSERT_EQ(frame.size(), good_reply().size());
        ASSERT_FALSE(crc_ok(frame)) << "round " << i;
        ASSERT_NE(frame, good_reply());
    }
}

TEST(SimSpoilFrame, NoneLeavesTheFrameAlone) {
    std::mt19937 rng(1);
    std::vector<uint8_t> frame = good_reply();
    spoil_rtu_frame(frame, SimCorruption::kNone, rng);
    EXPECT_EQ(frame, good_reply());
}

}  // namespace
}  // namespace kaa::sim
