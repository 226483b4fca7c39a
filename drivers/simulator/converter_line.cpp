// The serial line behind a simulated converter: exchange times and wrong-id replies.
#include "drivers/simulator/converter_line.hpp"

#include <algorithm>

#include "drivers/simulator/modbus_frame.hpp"

namespace kaa::sim {
namespace {

constexpr int64_t kBitsPerCharacter = 10;  // start, 8 data, stop (8N1)
constexpr size_t kRtuOverhead = 3;         // unit id and CRC around the PDU

/// Microseconds `characters` take on the line at `baud`.
std::chrono::microseconds characters_time(int baud, double characters) {
    return std::chrono::microseconds(
        static_cast<int64_t>(characters * kBitsPerCharacter * 1'000'000.0 / std::max(baud, 1)));
}

}  // namespace

std::chrono::microseconds exchange_time(int baud, size_t request_pdu_bytes,
                                        size_t reply_pdu_bytes) {
    std::chrono::microseconds t =
        characters_time(baud, static_cast<double>(request_pdu_bytes + kRtuOverhead) + 3.5);
    if (reply_pdu_bytes > 0) {
        t += characters_time(baud, static_cast<double>(reply_pdu_bytes + kRtuOverhead) + 3.5);
    }
    return t;
}

std::vector<uint8_t> WrongIdInjector::frame(uint16_t transaction, uint8_t unit,
                                            std::vector<uint8_t> pdu) {
    ++replies_;
    const auto every = static_cast<uint64_t>(converter_.wrong_id_every);
    if (every == 0 || replies_ % every != 0) {
        return tcp_frame(transaction, unit, pdu);
    }
    ++spoiled_;
    // A register reply's data words become the marker; an exception keeps its code.
    const bool registers =
        !pdu.empty() && (pdu[0] == kReadHoldingRegisters || pdu[0] == kReadInputRegisters);
    if (registers) {
        for (size_t i = 2; i + 1 < pdu.size(); i += 2) {
            pdu[i] = static_cast<uint8_t>(converter_.wrong_id_word >> 8);
            pdu[i + 1] = static_cast<uint8_t>(converter_.wrong_id_word & 0xFF);
        }
    }
    if (converter_.wrong_id == config::SimWrongId::kUnit) {
        return tcp_frame(transaction, static_cast<uint8_t>(unit % 247 + 1), pdu);
    }
    return tcp_frame(static_cast<uint16_t>(transaction + 0x1000), unit, pdu);
}

}  // namespace kaa::sim
