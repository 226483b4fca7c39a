// Bus time estimates from Modbus RTU frame sizes.
#include "drivers/modbus/bus_budget.hpp"

#include <algorithm>

#include "drivers/modbus/request_planner.hpp"

namespace kaa::modbus {
namespace {

constexpr int kRequestBytes = 8;  // unit, function, address(2), count(2), CRC(2)

/// Bytes of the reply to a read: unit, function, byte count, data, CRC(2).
int reply_bytes(const PlannedRead& read) {
    const int data = config::is_bit_function(read.function) ? (read.count + 7) / 8 : 2 * read.count;
    return 5 + data;
}

std::chrono::microseconds char_time(const config::RtuLink& rtu) {
    const int bits =
        1 + rtu.data_bits + (rtu.parity == config::Parity::kNone ? 0 : 1) + rtu.stop_bits;
    return std::chrono::microseconds(1'000'000LL * bits / std::max(rtu.baud, 1));
}

/// The silence before each request: the configured delay, never under 3.5 characters.
std::chrono::microseconds silence_before_request(const config::BusConfig& bus,
                                                 std::chrono::microseconds ch) {
    return std::max<std::chrono::microseconds>(bus.inter_request_delay, ch * 7 / 2);
}

}  // namespace

std::chrono::microseconds estimate_reads_time(const std::vector<PlannedRead>& reads,
                                              const config::BusConfig& bus) {
    const auto* rtu = std::get_if<config::RtuLink>(&bus.link);
    const std::chrono::microseconds ch = rtu ? char_time(*rtu) : std::chrono::microseconds(0);
    const std::chrono::microseconds gap = silence_before_request(bus, ch);
    std::chrono::microseconds total{0};
    for (const auto& read : reads)
        total += gap + ch * (kRequestBytes + reply_bytes(read));
    return total;
}

BusBudget estimate_bus_budget(const config::GatewayConfig& config, const config::BusConfig& bus) {
    BusBudget budget;
    budget.bus = bus.name;
    const auto* rtu = std::get_if<config::RtuLink>(&bus.link);
    budget.serial = rtu != nullptr;
    const std::chrono::microseconds ch = rtu ? char_time(*rtu) : std::chrono::microseconds(0);
    const std::chrono::microseconds gap = silence_before_request(bus, ch);
    budget.dead_meter = (gap + bus.timeout) * (bus.retries + 1);

    for (const auto& meter : config.meters) {
        if (meter.bus != bus.name)
            continue;
        PlanLimits limits;
        limits.max_gap = meter.max_gap;
        limits.max_registers = meter.max_registers;
        MeterBudget mb;
        mb.meter = meter.name;
        mb.poll_interval = meter.poll_interval;
        const auto reads = plan_reads(meter.registers, limits);
        mb.requests = reads.size();
        mb.per_poll = estimate_reads_time(reads, bus);
        const auto interval_us =
            std::chrono::duration_cast<std::chrono::microseconds>(meter.poll_interval).count();
        mb.utilisation =
            interval_us > 0 ? static_cast<double>(mb.per_poll.count()) / interval_us : 0.0;
        budget.utilisation += mb.utilisation;
        budget.meters.push_back(mb);
    }
    return budget;
}

}  // namespace kaa::modbus
