// Polling one meter: paced reads, decoding, per-register problems, health transitions.
#include "drivers/modbus/meter_poller.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "drivers/modbus/libmodbus_transport.hpp"
#include "drivers/modbus/register_codec.hpp"

namespace kaa::modbus {
namespace {

constexpr const char* kComponent = "modbus";

/// Silence required between frames: the configured delay, and on a serial line at
/// least 3.5 character times (11 bits each) at the line's baud rate.
std::chrono::microseconds inter_frame_gap(const config::BusConfig& bus) {
    std::chrono::microseconds gap = bus.inter_request_delay;
    if (const auto* rtu = std::get_if<config::RtuLink>(&bus.link); rtu && rtu->baud > 0) {
        const auto t35 = std::chrono::microseconds(38'500'000LL / rtu->baud + 1);
        gap = std::max(gap, t35);
    }
    return gap;
}

PlanLimits limits_for(const config::MeterConfig& meter) {
    PlanLimits limits;
    limits.max_gap = meter.max_gap;
    limits.max_registers = meter.max_registers;
    return limits;
}

}  // namespace

BusLine::BusLine(const config::BusConfig& bus, MeterTransport& transport, const Clock& clock,
                 std::function<bool(Clock::Monotonic)> wait_until)
    : bus_(bus), transport_(transport), clock_(clock), wait_until_(std::move(wait_until)) {}

Result<std::vector<uint16_t>> BusLine::read(int unit, const PlannedRead& read) {
    const auto gap = inter_frame_gap(bus_);
    Result<std::vector<uint16_t>> result = make_error(ErrorKind::kInternal, "no attempt was made");
    for (int attempt = 0; attempt <= bus_.retries; ++attempt) {
        if (last_request_end_ && gap.count() > 0 &&
            !wait_until_(*last_request_end_ +
                         std::chrono::duration_cast<Clock::Monotonic::duration>(gap))) {
            return make_error(ErrorKind::kUnavailable, "stopping");
        }
        result = transport_.read(unit, read.function, read.address, read.count);
        last_request_end_ = clock_.now();
        if (result.ok())
            return result;
        const ErrorKind kind = result.error().kind;
        if (kind != ErrorKind::kTimeout && kind != ErrorKind::kBadResponse)
            return result;
    }
    return result;
}

MeterPoller::MeterPoller(size_t meter_index, const config::MeterConfig& meter,
                         const std::string& bus_name, const Clock& clock)
    : index_(meter_index),
      meter_(meter),
      bus_name_(bus_name),
      plan_(plan_reads(meter.registers, limits_for(meter))),
      metadata_plan_(plan_reads(meter.metadata_registers, limits_for(meter))),
      log_limiter_(clock, std::chrono::minutes(10)),
      clock_(clock) {
    request_metadata();
}

namespace {

/// One read per value of a merged read, for meters that refuse to read across holes.
std::vector<PlannedRead> split_read(const PlannedRead& read) {
    std::vector<PlannedRead> parts;
    for (const PlannedSlot& slot : read.slots) {
        PlannedRead part;
        part.function = read.function;
        part.address = static_cast<uint16_t>(read.address + slot.offset);
        part.count = slot.count;
        part.slots.push_back(PlannedSlot{slot.register_index, 0, slot.count});
        parts.push_back(std::move(part));
    }
    return parts;
}

std::string names_of(const PlannedRead& read, const std::vector<config::RegisterConfig>& regs) {
    std::vector<std::string> names;
    for (const auto& slot : read.slots)
        names.push_back(regs[slot.register_index].name);
    return fmt::format("{}", fmt::join(names, ", "));
}

}  // namespace

MeterPoller::ReadValues MeterPoller::read_all(
    BusLine& line, std::vector<PlannedRead>& plan,
    const std::vector<config::RegisterConfig>& registers) {
    ReadValues out;
    std::vector<std::optional<Value>> decoded(registers.size());
    for (size_t r = 0; r < plan.size(); ++r) {
        const PlannedRead& read = plan[r];
        auto words = line.read(meter_.unit, read);
        if (!words) {
            const Error& err = words.error();
            if (err.kind == ErrorKind::kUnavailable) {
                out.stopped = true;
                break;
            }
            if (err.kind == ErrorKind::kModbusException && err.code == 2 && read.slots.size() > 1) {
                // The meter refuses to read across a hole: read these values one by one
                // from now on, starting with this poll, so the readable ones keep flowing.
                spdlog::info(
                    "{}: meter {} refused the merged read {} {}..{} ({}); reading its "
                    "registers one by one from now on",
                    kComponent, meter_.name, config::to_string(read.function), read.address,
                    read.address + read.count - 1, err.message);
                auto parts = split_read(read);
                plan.erase(plan.begin() + static_cast<std::ptrdiff_t>(r));
                plan.insert(plan.begin() + static_cast<std::ptrdiff_t>(r), parts.begin(),
                            parts.end());
                --r;
                continue;
            }
            out.problems.push_back(fmt::format(
                "{} reading {} {}..{} ({})", err.message, config::to_string(read.function),
                read.address, read.address + read.count - 1, names_of(read, registers)));
            if (err.kind == ErrorKind::kModbusException)
                continue;
            // Timeouts and garbage: the meter is not answering properly; do not spend
            // the bus's time on its other requests this round.
            out.timed_out = err.kind == ErrorKind::kTimeout || err.kind == ErrorKind::kBadResponse;
            out.link_broken = !out.timed_out;
            break;
        }
        for (const PlannedSlot& slot : read.slots) {
            const config::RegisterConfig& reg = registers[slot.register_index];
            std::span<const uint16_t> span(words.value().data() + slot.offset, slot.count);
            Value raw = config::is_bit_function(reg.function)
                            ? decode_bit(static_cast<uint8_t>(span[0]))
                            : decode_words(reg, span);
            decoded[slot.register_index] = apply_scale(raw, reg.scale, reg.offset);
        }
    }
    out.readings.reserve(registers.size());
    for (size_t i = 0; i < registers.size(); ++i) {
        Reading reading{registers[i].name, false, Quality::kReadFailed};
        if (decoded[i]) {
            reading.value = std::move(*decoded[i]);
            reading.quality = Quality::kGood;
            if (const auto* d = std::get_if<double>(&reading.value); d && !std::isfinite(*d)) {
                reading.quality = Quality::kUnencodable;
                out.problems.push_back(
                    fmt::format("register {} decoded to a value JSON cannot carry "
                                "(NaN or infinity); left out",
                                registers[i].name));
            }
        }
        out.good += reading.quality == Quality::kGood ? 1 : 0;
        out.readings.push_back(std::move(reading));
    }
    return out;
}

PollOutcome MeterPoller::poll(BusLine& line) {
    PollOutcome outcome;
    const int64_t timestamp = clock_.wall_ms();
    ReadValues rv = read_all(line, plan_, meter_.registers);
    outcome.stopped = rv.stopped;
    outcome.link_broken = rv.link_broken;
    if (rv.stopped)
        return outcome;
    if (rv.good == 0) {
        note_failure(rv.problems.empty() ? "no register could be read" : rv.problems.front());
        return outcome;
    }
    outcome.sample = Sample{index_, timestamp, std::move(rv.readings)};
    note_success(rv.problems);
    return outcome;
}

std::optional<MetadataUpdate> MeterPoller::read_metadata(BusLine& line) {
    if (metadata_plan_.empty()) {
        metadata_due_ = false;
        return std::nullopt;
    }
    ReadValues rv = read_all(line, metadata_plan_, meter_.metadata_registers);
    if (rv.stopped || !rv.problems.empty() || rv.good == 0) {
        if (!rv.problems.empty()) {
            spdlog::debug("{}: metadata registers of meter {} not read yet: {}", kComponent,
                          meter_.name, rv.problems.front());
        }
        return std::nullopt;
    }
    metadata_due_ = false;
    MetadataUpdate update;
    update.meter_index = index_;
    for (const Reading& reading : rv.readings)
        std::visit([&](const auto& v) { update.keys[reading.name] = v; }, reading.value);
    return update;
}

void MeterPoller::note_failure(const std::string& reason) {
    ++consecutive_failures_;
    if (!failing_) {
        failing_ = true;
        spdlog::warn("{}: meter {} (unit {} on bus {}) is failing: {}; polling goes on", kComponent,
                     meter_.name, meter_.unit, bus_name_, reason);
        return;
    }
    int suppressed = 0;
    if (log_limiter_.allow("still-failing", suppressed) && suppressed > 0) {
        spdlog::warn("{}: meter {} (unit {} on bus {}) still failing after {} polls: {}",
                     kComponent, meter_.name, meter_.unit, bus_name_, consecutive_failures_,
                     reason);
    }
}

void MeterPoller::note_success(const std::vector<std::string>& problems) {
    if (failing_) {
        spdlog::info("{}: meter {} (unit {} on bus {}) answers again after {} failed polls",
                     kComponent, meter_.name, meter_.unit, bus_name_, consecutive_failures_);
        failing_ = false;
        log_limiter_.reset("still-failing");
        request_metadata();
    }
    consecutive_failures_ = 0;
    for (const auto& problem : problems) {
        int suppressed = 0;
        if (log_limiter_.allow("partial:" + problem, suppressed)) {
            spdlog::warn("{}: meter {} (unit {} on bus {}): {}; its other registers are published",
                         kComponent, meter_.name, meter_.unit, bus_name_, problem);
        }
    }
}

}  // namespace kaa::modbus
