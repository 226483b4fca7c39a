// Checking read commands and answering commands once their job ran.
#include "daemon/commands/command_answers.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/printable.hpp"
#include "drivers/modbus/register_codec.hpp"

namespace kaa::commands {
namespace {

constexpr size_t kMaxNamesShown = 40;

/// The meter's registers a read command may name: polled, metadata, then writable ones
/// (a name appears once: a writable register may also be polled).
std::vector<config::RegisterConfig> readable_registers(const config::MeterConfig& meter) {
    std::vector<config::RegisterConfig> out;
    auto add = [&out](const config::RegisterConfig& reg) {
        for (const auto& r : out) {
            if (r.name == reg.name)
                return;
        }
        out.push_back(reg);
    };
    for (const auto& r : meter.registers)
        add(r);
    for (const auto& r : meter.metadata_registers)
        add(r);
    for (const auto& w : meter.writable)
        add(w.reg);
    return out;
}

std::string names_of(const std::vector<config::RegisterConfig>& regs) {
    std::vector<std::string> names;
    for (size_t i = 0; i < regs.size() && i < kMaxNamesShown; ++i)
        names.push_back(regs[i].name);
    std::string out = fmt::format("{}", fmt::join(names, ", "));
    if (regs.size() > kMaxNamesShown)
        out += fmt::format(" and {} more", regs.size() - kMaxNamesShown);
    return out.empty() ? "none" : out;
}

}  // namespace

int status_code_of(const Error& error) {
    switch (error.kind) {
        case ErrorKind::kTimeout:
        case ErrorKind::kNotConnected:
        case ErrorKind::kIo:
        case ErrorKind::kUnavailable:
            return 504;
        default:
            return 502;
    }
}

nlohmann::ordered_json value_of(const config::RegisterConfig& reg,
                                const std::vector<uint16_t>& words) {
    nlohmann::ordered_json holder = nlohmann::ordered_json::object();
    if (config::is_bit_function(reg.function)) {
        if (words.empty())
            return nullptr;
        modbus::put_json(holder, "v", modbus::decode_bit(static_cast<uint8_t>(words[0] != 0)));
    } else {
        if (words.size() < static_cast<size_t>(config::register_count(reg.type, reg.length)))
            return nullptr;
        const auto raw = modbus::decode_words(reg, words);
        modbus::put_json(holder, "v", modbus::apply_scale(raw, reg.scale, reg.offset));
    }
    return holder.contains("v") ? holder["v"] : nlohmann::ordered_json(nullptr);
}

Result<std::vector<config::RegisterConfig>> plan_read_command(const config::MeterConfig& meter,
                                                              const nlohmann::json& payload) {
    std::vector<config::RegisterConfig> all = readable_registers(meter);
    if (payload.is_null() || (payload.is_object() && payload.empty()) ||
        (payload.is_array() && payload.empty())) {
        return all;
    }
    if (!payload.is_array()) {
        return make_error(ErrorKind::kInvalidArgument,
                          "a read command's payload is an array of register names (or empty "
                          "for all), got " +
                              printable(payload.dump(), 80));
    }
    std::vector<config::RegisterConfig> wanted;
    std::vector<std::string> unknown;
    for (const auto& name : payload) {
        const config::RegisterConfig* found = nullptr;
        if (name.is_string()) {
            for (const auto& r : all) {
                if (r.name == name.get_ref<const std::string&>())
                    found = &r;
            }
        }
        if (found == nullptr)
            unknown.push_back(
                printable(name.is_string() ? name.get<std::string>() : name.dump(), 60));
        else
            wanted.push_back(*found);
    }
    if (!unknown.empty()) {
        return make_error(
            ErrorKind::kInvalidArgument,
            fmt::format("nothing read: not registers of this meter: {}; registers: {}",
                        fmt::join(unknown, ", "), names_of(all)));
    }
    return wanted;
}

CommandResult write_answer(int64_t id, const config::MeterConfig& meter,
                           const std::vector<modbus::PlannedWrite>& writes,
                           const modbus::MeterJobResult& result) {
    CommandResult answer;
    answer.id = id;
    answer.payload = nlohmann::ordered_json::object();
    std::vector<std::string> written;
    std::string read_back_problem;
    for (size_t i = 0; i < writes.size(); ++i) {
        const config::RegisterConfig& reg = writes[i].writable->reg;
        const modbus::WriteResult* r = i < result.writes.size() ? &result.writes[i] : nullptr;
        if (r == nullptr || !r->status.ok()) {
            const Error error = r != nullptr         ? r->status.error()
                                : result.status.ok() ? Error{ErrorKind::kInternal, "no outcome", 0}
                                                     : result.status.error();
            answer.status_code = status_code_of(error);
            answer.reason = fmt::format(
                "meter {}: '{}' not written: {}{}", meter.name, reg.name, error.message,
                written.empty()
                    ? ""
                    : fmt::format(" (written before it: {})", fmt::join(written, ", ")));
            return answer;
        }
        written.push_back(reg.name);
        if (r->read_back.ok()) {
            answer.payload[reg.name] = value_of(reg, r->read_back.value());
        } else {
            answer.payload[reg.name] = nullptr;
            if (read_back_problem.empty())
                read_back_problem = fmt::format("; '{}' could not be read back: {}", reg.name,
                                                r->read_back.error().message);
        }
    }
    answer.status_code = 200;
    answer.reason = "written and read back" + read_back_problem;
    return answer;
}

CommandResult read_answer(int64_t id, const modbus::MeterJobResult& result) {
    CommandResult answer;
    answer.id = id;
    answer.payload = nlohmann::ordered_json::object();
    size_t good = 0;
    for (const Reading& reading : result.readings) {
        if (reading.quality != Quality::kGood)
            continue;
        if (modbus::put_json(answer.payload, reading.name, reading.value))
            ++good;
    }
    if (good == 0 && !result.readings.empty()) {
        answer.payload = nullptr;
        const Error error =
            !result.status.ok()
                ? result.status.error()
                : Error{ErrorKind::kModbusException,
                        result.problems.empty() ? "nothing could be read" : result.problems.front(),
                        0};
        answer.status_code = status_code_of(error);
        answer.reason = "nothing read: " + error.message;
        return answer;
    }
    if (!result.status.ok() && result.readings.empty()) {
        answer.payload = nullptr;
        answer.status_code = status_code_of(result.status.error());
        answer.reason = "nothing read: " + result.status.error().message;
        return answer;
    }
    answer.status_code = 200;
    answer.reason = good == result.readings.size()
                        ? "read"
                        : fmt::format("read {} of {} registers; {}", good, result.readings.size(),
                                      result.problems.empty()
                                          ? "the rest failed"
                                          : fmt::format("{}", fmt::join(result.problems, "; ")));
    return answer;
}

}  // namespace kaa::commands
