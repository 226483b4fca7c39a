// Text of the polling plan for --check.
#include "daemon/check_report.hpp"

#include <fmt/format.h>

#include "drivers/modbus/meter_transport.hpp"
#include "drivers/modbus/request_planner.hpp"

namespace kaa {
namespace {

std::string describe_read(const modbus::PlannedRead& read,
                          const std::vector<config::RegisterConfig>& registers) {
    std::vector<std::string> names;
    for (const auto& slot : read.slots)
        names.push_back(registers[slot.register_index].name);
    const bool bits = config::is_bit_function(read.function);
    return fmt::format("read {} {}..{} ({} {}{}): {}", config::to_string(read.function),
                       read.address, read.address + read.count - 1, read.count,
                       bits ? "bit" : "register", read.count == 1 ? "" : "s",
                       fmt::join(names, ", "));
}

}  // namespace

std::string describe_polling_plan(const config::GatewayConfig& config) {
    std::string out;
    for (const auto& bus : config.buses) {
        out +=
            fmt::format("bus {} ({}, timeout {}, retries {}, inter-request delay {})\n", bus.name,
                        modbus::describe_link(bus), config::format_duration(bus.timeout),
                        bus.retries, config::format_duration(bus.inter_request_delay));
        bool any = false;
        for (const auto& meter : config.meters) {
            if (meter.bus != bus.name)
                continue;
            any = true;
            modbus::PlanLimits limits;
            limits.max_gap = meter.max_gap;
            limits.max_registers = meter.max_registers;
            const auto plan = modbus::plan_reads(meter.registers, limits);
            const auto metadata_plan = modbus::plan_reads(meter.metadata_registers, limits);
            out += fmt::format(
                "  meter {} (unit {}, every {}, token {}): {} request{} per poll for {} "
                "register{}\n",
                meter.name, meter.unit, config::format_duration(meter.poll_interval), meter.token,
                plan.size(), plan.size() == 1 ? "" : "s", meter.registers.size(),
                meter.registers.size() == 1 ? "" : "s");
            for (const auto& read : plan)
                out += "    " + describe_read(read, meter.registers) + "\n";
            for (const auto& read : metadata_plan) {
                out += "    metadata: " + describe_read(read, meter.metadata_registers) + "\n";
            }
        }
        if (!any)
            out += "  no meters on this bus\n";
    }
    if (config.buses.empty())
        out += "no buses configured\n";
    return out;
}

}  // namespace kaa
