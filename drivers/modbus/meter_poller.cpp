// Polling one meter: paced reads, decoding, per-register problems, health transitions.
#include "drivers/modbus/meter_poller.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "drivers/modbus/hole_finder.hpp"
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

template <typename Attempt>
auto BusLine::paced(Attempt attempt) -> decltype(attempt()) {
    const auto gap = inter_frame_gap(bus_);
    decltype(attempt()) result = make_error(ErrorKind::kInternal, "no attempt was made");
    for (int try_number = 0; try_number <= bus_.retries; ++try_number) {
        if (last_request_end_ && gap.count() > 0 &&
            !wait_until_(*last_request_end_ +
                         std::chrono::duration_cast<Clock::Monotonic::duration>(gap))) {
            return make_error(ErrorKind::kUnavailable, "stopping");
        }
        const auto started = clock_.now();
        result = attempt();
        last_request_end_ = clock_.now();
        busy_us_ += static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(*last_request_end_ - started)
                .count());
        if (counts_ != nullptr)
            counts_->count(result.ok() ? nullptr : &result.error());
        if (result.ok())
            return result;
        const ErrorKind kind = result.error().kind;
        if (kind != ErrorKind::kTimeout && kind != ErrorKind::kBadResponse)
            return result;
    }
    return result;
}

Result<std::vector<uint16_t>> BusLine::read(int unit, const PlannedRead& read) {
    return paced([&] { return transport_.read(unit, read.function, read.address, read.count); });
}

Status BusLine::write(int unit, const WriteRequest& request) {
    return paced([&] {
        return transport_.write(unit, request.function, request.address, request.words,
                                request.multiple);
    });
}

MeterPoller::MeterPoller(size_t meter_index, const config::MeterConfig& meter,
                         const std::string& bus_name, const Clock& clock, LearnedCuts* learned)
    : index_(meter_index),
      meter_(meter),
      bus_name_(bus_name),
      learned_(learned),
      learned_key_(LearnedCuts::key_of(meter)),
      log_limiter_(clock, std::chrono::minutes(10)),
      clock_(clock) {
    health_.meter_index = meter_index;
    if (learned_)
        cuts_ = learned_->cuts_of(learned_key_);
    plan_ = plan_for(meter.registers);
    metadata_plan_ = plan_for(meter.metadata_registers);
    request_metadata();
}

std::vector<PlannedRead> MeterPoller::plan_for(
    const std::vector<config::RegisterConfig>& registers) const {
    PlanLimits limits = limits_for(meter_);
    limits.cuts = cuts_;
    return plan_reads(registers, limits);
}

namespace {

/// Decodes the values of an answered read into `decoded`, by register index.
void decode_read(const PlannedRead& read, const std::vector<uint16_t>& words,
                 const std::vector<config::RegisterConfig>& registers,
                 std::vector<std::optional<Value>>& decoded) {
    for (const PlannedSlot& slot : read.slots) {
        const config::RegisterConfig& reg = registers[slot.register_index];
        std::span<const uint16_t> span(words.data() + slot.offset, slot.count);
        Value raw = config::is_bit_function(reg.function)
                        ? decode_bit(static_cast<uint8_t>(span[0]))
                        : decode_words(reg, span);
        decoded[slot.register_index] = apply_scale(raw, reg.scale, reg.offset);
    }
}

/// "holding 16..23, input 39|40": the unused addresses before each cut (back to the end of
/// the value before it), or the two addresses it separates.
std::string describe_cuts(const PlannedRead& read, const std::vector<ReadCut>& cuts) {
    std::vector<std::string> parts;
    for (const ReadCut& cut : cuts) {
        int gap_first = read.address;
        for (const PlannedSlot& slot : read.slots) {
            const int end = read.address + slot.offset + slot.count;
            if (end <= cut.address)
                gap_first = std::max(gap_first, end);
        }
        const std::string table = config::to_string(cut.function);
        parts.push_back(gap_first < cut.address
                            ? fmt::format("{} {}..{}", table, gap_first, cut.address - 1)
                            : fmt::format("{} {}|{}", table, cut.address - 1, cut.address));
    }
    return fmt::format("{}", fmt::join(parts, ", "));
}

std::string names_of(const PlannedRead& read, const std::vector<config::RegisterConfig>& regs) {
    std::vector<std::string> names;
    for (const auto& slot : read.slots)
        names.push_back(regs[slot.register_index].name);
    return fmt::format("{}", fmt::join(names, ", "));
}

/// "Modbus exception 4 (...) reading holding 0..1 (voltage, current)".
std::string problem_of(const Error& err, const PlannedRead& read,
                       const std::vector<config::RegisterConfig>& regs) {
    return fmt::format("{} reading {} {}..{} ({})", err.message, config::to_string(read.function),
                       read.address, read.address + read.count - 1, names_of(read, regs));
}

}  // namespace

MeterPoller::ReadValues MeterPoller::read_all(
    BusLine& line, std::vector<PlannedRead>& plan,
    const std::vector<config::RegisterConfig>& registers) {
    ReadValues out;
    std::vector<std::optional<Value>> decoded(registers.size());
    bool replan = false;
    for (size_t r = 0; r < plan.size(); ++r) {
        const PlannedRead& read = plan[r];
        auto words = line.read(meter_.unit, read);
        if (!words) {
            const Error& err = words.error();
            if (err.kind == ErrorKind::kUnavailable) {
                out.stopped = true;
                break;
            }
            if (is_illegal_address(err) && read.slots.size() > 1) {
                // The meter refuses to read across a hole: find where, read the values
                // around it this poll, and plan around it from the next one.
                if (!search_holes(line, read, registers, decoded, out))
                    break;
                replan = true;
                continue;
            }
            out.problems.push_back(problem_of(err, read, registers));
            if (err.kind == ErrorKind::kModbusException)
                continue;
            // Timeouts and garbage: the meter is not answering properly; do not spend
            // the bus's time on its other requests this round.
            out.timed_out = err.kind == ErrorKind::kTimeout || err.kind == ErrorKind::kBadResponse;
            out.link_broken = !out.timed_out;
            break;
        }
        decode_read(read, words.value(), registers, decoded);
    }
    if (replan)
        plan = plan_for(registers);
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

bool MeterPoller::search_holes(BusLine& line, const PlannedRead& read,
                               const std::vector<config::RegisterConfig>& registers,
                               std::vector<std::optional<Value>>& decoded, ReadValues& out) {
    HoleSearch found =
        find_holes(read, [&](const PlannedRead& part) { return line.read(meter_.unit, part); });
    for (const AnsweredRead& answered : found.answered)
        decode_read(answered.read, answered.words, registers, decoded);
    for (const RefusedRead& refused : found.refused)
        out.problems.push_back(problem_of(refused.error, refused.read, registers));
    if (!found.cuts.empty()) {
        cuts_.insert(cuts_.end(), found.cuts.begin(), found.cuts.end());
        std::sort(cuts_.begin(), cuts_.end());
        cuts_.erase(std::unique(cuts_.begin(), cuts_.end()), cuts_.end());
        if (learned_)
            learned_->add(learned_key_, found.cuts);
        spdlog::info(
            "{}: meter {} (unit {} on bus {}) refused the read {} {}..{} (exception 2); it "
            "refuses reads across {}: its reads are split there from now on ({} requests to "
            "find out)",
            kComponent, meter_.name, meter_.unit, bus_name_, config::to_string(read.function),
            read.address, read.address + read.count - 1, describe_cuts(read, found.cuts),
            found.requests);
    }
    if (!found.stopped_by)
        return true;
    const Error& err = *found.stopped_by;
    if (err.kind == ErrorKind::kUnavailable) {
        out.stopped = true;
        return false;
    }
    out.problems.push_back(problem_of(err, read, registers));
    out.timed_out = err.kind == ErrorKind::kTimeout || err.kind == ErrorKind::kBadResponse;
    out.link_broken = !out.timed_out;
    return false;
}

PollOutcome MeterPoller::poll(BusLine& line) {
    PollOutcome outcome;
    const int64_t timestamp = clock_.wall_ms();
    const int64_t read_mono_ms = monotonic_ms(clock_.now());
    line.count_into(&health_.transactions);
    ReadValues rv = read_all(line, plan_, meter_.registers);
    line.count_into(nullptr);
    outcome.stopped = rv.stopped;
    outcome.link_broken = rv.link_broken;
    if (rv.stopped)
        return outcome;
    ++health_.polls;
    if (rv.good == 0) {
        ++health_.polls_failed;
        if (health_.state != MeterState::kFailing)
            health_.failing_since_ms = timestamp;
        health_.state = MeterState::kFailing;
        note_failure(rv.problems.empty() ? "no register could be read" : rv.problems.front());
        return outcome;
    }
    health_.state = MeterState::kOk;
    health_.failing_since_ms = 0;
    health_.backoff_until_ms = 0;
    health_.last_good_ms = timestamp;
    health_.last_error = rv.problems.empty() ? std::string() : rv.problems.front();
    health_.last_values.clear();
    for (const Reading& r : rv.readings) {
        if (r.quality == Quality::kGood)
            health_.last_values.push_back(r);
    }
    outcome.sample = Sample{index_, timestamp, std::move(rv.readings), read_mono_ms};
    note_success(rv.problems);
    return outcome;
}

MeterPoller::DirectRead MeterPoller::read_now(
    BusLine& line, const std::vector<config::RegisterConfig>& registers) {
    std::vector<PlannedRead> plan = plan_for(registers);
    line.count_into(&health_.transactions);
    ReadValues rv = read_all(line, plan, registers);
    line.count_into(nullptr);
    DirectRead out{std::move(rv.readings), std::move(rv.problems), {}};
    if (rv.stopped) {
        out.status = make_error(ErrorKind::kUnavailable, "the bus worker is stopping");
    } else if (rv.timed_out) {
        out.status = make_error(ErrorKind::kTimeout,
                                fmt::format("meter {} (unit {} on bus {}) does not answer",
                                            meter_.name, meter_.unit, bus_name_));
    } else if (rv.link_broken) {
        out.status = make_error(ErrorKind::kIo, fmt::format("bus {} lost its link", bus_name_));
    }
    return out;
}

std::optional<MetadataUpdate> MeterPoller::read_metadata(BusLine& line) {
    if (metadata_plan_.empty()) {
        metadata_due_ = false;
        return std::nullopt;
    }
    line.count_into(&health_.transactions);
    ReadValues rv = read_all(line, metadata_plan_, meter_.metadata_registers);
    line.count_into(nullptr);
    if (rv.stopped || !rv.problems.empty() || rv.good == 0) {
        if (!rv.problems.empty()) {
            spdlog::debug("{}: metadata registers of meter {} not read yet: {}", kComponent,
                          meter_.name, rv.problems.front());
        }
        return std::nullopt;
    }
    metadata_due_ = false;
    next_metadata_ = clock_.now() + meter_.metadata_interval;
    MetadataUpdate update;
    update.meter_index = index_;
    for (const Reading& reading : rv.readings)
        std::visit([&](const auto& v) { update.keys[reading.name] = v; }, reading.value);
    return update;
}

void MeterPoller::note_failure(const std::string& reason) {
    ++consecutive_failures_;
    health_.last_error = reason;
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
