#pragma once
// Modbus TCP write requests (functions 05, 06, 15, 16) and the checks of their replies,
// with the same header checks as reads (tcp_adu.hpp): a write is confirmed only by the
// reply to that very request, echoing what was written.

#include <cstdint>
#include <span>
#include <vector>

#include "config/config.hpp"
#include "drivers/modbus/tcp_adu.hpp"

namespace kaa::modbus {

/// One write request on Modbus TCP.
struct TcpWriteRequest {
    uint16_t transaction_id = 0;
    uint8_t unit = 0;
    uint8_t function = 6;  // 5 one coil, 6 one register, 15 coils, 16 registers
    uint16_t address = 0;
    std::vector<uint16_t> values;  // registers, or one 0/1 per coil
};

/// The function that writes `values` values of `table` (holding or coil): 05/06 for one
/// value unless `multiple`, else 15/16.
uint8_t write_function_code(config::RegisterFunction table, size_t values, bool multiple);

/// The most values one request of `function` may write: 123 registers or 1968 coils.
uint16_t max_write_count(uint8_t function);

/// The bytes of a write request's ADU.
std::vector<uint8_t> build_write_request(const TcpWriteRequest& request);

/// Checks a reply ADU to `request`: the header as for reads, then an exception, or the
/// echo (05/06: address and value; 15/16: address and count). Passing gives no values.
TcpReply check_write_reply(const TcpWriteRequest& request, std::span<const uint8_t> adu,
                           size_t trailing);

}  // namespace kaa::modbus
