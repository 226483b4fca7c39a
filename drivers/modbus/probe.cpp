// The probe: one read, described; or a profile's registers, decoded.
#include "drivers/modbus/probe.hpp"

#include <span>

#include <fmt/format.h>

#include "drivers/modbus/probe_report.hpp"
#include "drivers/modbus/register_codec.hpp"
#include "drivers/modbus/request_planner.hpp"

namespace kaa::modbus {
namespace {

/// 1 for what the meter did (exception, timeout, bad reply), 2 for a link that failed.
int exit_code_for(const Error& e) {
    return e.kind == ErrorKind::kIo || e.kind == ErrorKind::kNotConnected ? 2 : 1;
}

}  // namespace

ProbeOutcome probe_read(MeterTransport& transport, const ProbeRequest& request) {
    ProbeOutcome out;
    if (auto st = transport.open(); !st)
        return ProbeOutcome{2, "cannot open " + transport.describe() + ": " + st.error().message};
    const uint16_t last = static_cast<uint16_t>(request.address + request.count - 1);
    out.text =
        fmt::format("{} unit {}: {} {}..{} ({} {})\n", transport.describe(), request.unit,
                    config::to_string(request.function), request.address, last, request.count,
                    config::is_bit_function(request.function) ? "bits" : "registers");
    auto words = transport.read(request.unit, request.function, request.address, request.count);
    transport.close();
    if (!words) {
        out.exit_code = exit_code_for(words.error());
        out.text += words.error().message + "\n";
        return out;
    }
    out.text += config::is_bit_function(request.function)
                    ? describe_bits(request.address, words.value())
                    : describe_registers(request.address, words.value());
    return out;
}

ProbeOutcome probe_profile(MeterTransport& transport, int unit,
                           const config::MeterProfile& profile) {
    ProbeOutcome out;
    if (auto st = transport.open(); !st)
        return ProbeOutcome{2, "cannot open " + transport.describe() + ": " + st.error().message};
    out.text = fmt::format("{} unit {}: profile {} ({} {})\n", transport.describe(), unit,
                           profile.id, profile.maker, profile.model);
    std::vector<config::RegisterConfig> registers = profile.metadata_registers;
    registers.insert(registers.end(), profile.registers.begin(), profile.registers.end());
    PlanLimits limits;
    limits.max_gap = profile.max_gap.value_or(limits.max_gap);
    limits.max_registers = profile.max_registers.value_or(limits.max_registers);
    std::vector<std::string> lines(registers.size());
    std::vector<PlannedRead> reads = plan_reads(registers, limits);
    for (size_t r = 0; r < reads.size(); ++r) {
        const PlannedRead read = reads[r];
        auto words = transport.read(unit, read.function, read.address, read.count);
        // As the daemon does: a merged read refused with exception 02 (it spans a hole the
        // meter will not read across) is read again register by register.
        if (!words && words.error().kind == ErrorKind::kModbusException &&
            words.error().code == 2 && read.slots.size() > 1) {
            for (const PlannedSlot& slot : read.slots) {
                reads.push_back(PlannedRead{read.function,
                                            static_cast<uint16_t>(read.address + slot.offset),
                                            slot.count,
                                            {PlannedSlot{slot.register_index, 0, slot.count}}});
            }
            continue;
        }
        for (const PlannedSlot& slot : read.slots) {
            const config::RegisterConfig& reg = registers[slot.register_index];
            if (!words) {
                lines[slot.register_index] =
                    fmt::format("{} = (not read: {})", reg.name, words.error().message);
                out.exit_code = std::max(out.exit_code, exit_code_for(words.error()));
                continue;
            }
            std::span<const uint16_t> span(words.value().data() + slot.offset, slot.count);
            const Value raw = config::is_bit_function(reg.function)
                                  ? decode_bit(static_cast<uint8_t>(span[0]))
                                  : decode_words(reg, span);
            lines[slot.register_index] =
                reg.name + " = " + format_value(apply_scale(raw, reg.scale, reg.offset));
        }
    }
    transport.close();
    for (const std::string& line : lines)
        out.text += line + "\n";
    return out;
}

}  // namespace kaa::modbus
