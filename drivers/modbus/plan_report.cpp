// Text of the polling plan for --check, and the bus-time check.
#include "drivers/modbus/plan_report.hpp"

#include <fmt/format.h>

#include "drivers/modbus/bus_budget.hpp"
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

std::string ms(std::chrono::microseconds d) {
    return fmt::format("{:.1f} ms", d.count() / 1000.0);
}

std::string where(const config::BusConfig& bus) {
    return fmt::format("{}:{}:{}: ", bus.where.file, bus.where.line, bus.where.column);
}

/// The meters' lines of one bus.
std::string describe_meters(const config::GatewayConfig& config, const config::BusConfig& bus) {
    std::string out;
    for (const auto& meter : config.meters) {
        if (meter.bus != bus.name)
            continue;
        modbus::PlanLimits limits;
        limits.max_gap = meter.max_gap;
        limits.max_registers = meter.max_registers;
        const auto plan = modbus::plan_reads(meter.registers, limits);
        const auto metadata_plan = modbus::plan_reads(meter.metadata_registers, limits);
        out += fmt::format(
            "  meter {} (unit {}, every {}, token {}{}): {} request{} per poll for {} register{}\n",
            meter.name, meter.unit, config::format_duration(meter.poll_interval), meter.token,
            meter.profile.empty() ? "" : ", profile " + meter.profile, plan.size(),
            plan.size() == 1 ? "" : "s", meter.registers.size(),
            meter.registers.size() == 1 ? "" : "s");
        for (const auto& read : plan)
            out += "    " + describe_read(read, meter.registers) + "\n";
        for (const auto& read : metadata_plan) {
            out += "    metadata: " + describe_read(read, meter.metadata_registers) + "\n";
        }
    }
    return out;
}

/// The bus-time line of one bus, and its error or warning.
void check_budget(const config::GatewayConfig& config, const config::BusConfig& bus,
                  PlanCheck& check) {
    const auto budget = modbus::estimate_bus_budget(config, bus);
    if (budget.meters.empty()) {
        check.report += "  no meters on this bus\n";
        return;
    }
    std::chrono::microseconds per_cycle{0};
    for (const auto& m : budget.meters)
        per_cycle += m.per_poll;
    const double percent = budget.utilisation * 100.0;
    if (budget.serial) {
        check.report += fmt::format(
            "  estimated bus time: {} to poll every meter once; {:.1f}% of the line's time at "
            "these poll intervals; a meter that stops answering costs {} per poll\n",
            ms(per_cycle), percent, ms(budget.dead_meter));
    } else {
        check.report += fmt::format(
            "  bus time: not estimated on TCP (it depends on the network); a meter that stops "
            "answering costs {} per poll\n",
            ms(budget.dead_meter));
    }
    std::vector<std::string> busiest;
    for (const auto& m : budget.meters) {
        busiest.push_back(fmt::format("{} needs {} every {}", m.meter, ms(m.per_poll),
                                      config::format_duration(m.poll_interval)));
    }
    if (budget.utilisation > 1.0) {
        check.errors.push_back(fmt::format(
            "{}bus {} cannot fit its poll intervals: its meters need {:.0f}% of the line's time "
            "({}); poll less often, read fewer registers, or raise the baud rate",
            where(bus), bus.name, percent, fmt::join(busiest, "; ")));
    } else if (budget.utilisation > modbus::kBusWarnUtilisation) {
        check.warnings.push_back(fmt::format(
            "{}bus {} is {:.0f}% busy with these poll intervals (above {:.0f}%): a slow or dead "
            "meter will delay the others",
            where(bus), bus.name, percent, modbus::kBusWarnUtilisation * 100));
    }
}

}  // namespace

PlanCheck check_polling_plan(const config::GatewayConfig& config) {
    PlanCheck check;
    for (const auto& bus : config.buses) {
        std::string converter;
        if (bus.pause_after_connect.count() > 0)
            converter +=
                ", pause after connect " + config::format_duration(bus.pause_after_connect);
        if (bus.close_after_poll)
            converter += ", closed after each poll round";
        check.report +=
            fmt::format("bus {} ({}, timeout {}, retries {}, inter-request delay {}{})\n", bus.name,
                        modbus::describe_link(bus), config::format_duration(bus.timeout),
                        bus.retries, config::format_duration(bus.inter_request_delay), converter);
        check.report += describe_meters(config, bus);
        check_budget(config, bus, check);
    }
    if (config.buses.empty())
        check.report += "no buses configured\n";
    return check;
}

}  // namespace kaa
