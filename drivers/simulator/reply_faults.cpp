#include "drivers/simulator/reply_faults.hpp"

#include <span>

#include "drivers/simulator/modbus_frame.hpp"

namespace kaa::sim {

ReplyFault ReplyFaults::next() {
    ++replies_;
    ReplyFault fault;
    fault.delay = faults_.reply_delay;
    const auto every = static_cast<uint64_t>(std::max(faults_.corrupt_every, 1));
    if (faults_.corrupt != config::SimCorruption::kNone && replies_ % every == 0) {
        fault.corruption = faults_.corrupt;
    }
    return fault;
}

namespace {

/// True when the frame's last two bytes are its CRC (low byte first).
bool crc_matches(const std::vector<uint8_t>& frame) {
    if (frame.size() < 3) {
        return false;
    }
    const uint16_t crc = crc16(std::span<const uint8_t>(frame.data(), frame.size() - 2));
    return frame[frame.size() - 2] == (crc & 0xFF) && frame[frame.size() - 1] == (crc >> 8);
}

}  // namespace

void spoil_rtu_frame(std::vector<uint8_t>& frame, config::SimCorruption corruption,
                     std::mt19937& rng) {
    if (frame.empty() || corruption == config::SimCorruption::kNone) {
        return;
    }
    if (corruption == config::SimCorruption::kGarbage) {
        std::uniform_int_distribution<int> byte(0, 255);
        for (uint8_t& b : frame) {
            b = static_cast<uint8_t>(byte(rng));
        }
    }
    if (corruption == config::SimCorruption::kCrc || crc_matches(frame)) {
        frame.back() ^= 0xA5;
    }
}

}  // namespace kaa::sim
