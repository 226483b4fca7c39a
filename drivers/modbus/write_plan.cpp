// Checking and encoding the values of a write command.
#include "drivers/modbus/write_plan.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/printable.hpp"
#include "drivers/modbus/register_codec.hpp"

namespace kaa::modbus {
namespace {

using config::ValueType;

constexpr size_t kMaxShownChars = 40;  // of a value echoed in a reason

/// A value as the command gave it, bounded and escaped for a reason phrase.
std::string shown(const nlohmann::json& value) {
    return printable(value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                     kMaxShownChars);
}

/// A bound to 15 significant digits: 65535, 3276.7.
std::string number_text(double v) {
    return fmt::format("{:.15g}", v);
}

bool is_integer_type(ValueType t) {
    return t == ValueType::kInt16 || t == ValueType::kUint16 || t == ValueType::kInt32 ||
           t == ValueType::kUint32 || t == ValueType::kInt64 || t == ValueType::kUint64;
}

Result<WriteRequest> plan_coil(const config::WritableConfig& w, const nlohmann::json& value) {
    bool on = false;
    if (value.is_boolean()) {
        on = value.get<bool>();
    } else if (value.is_number_integer() && (value == 0 || value == 1)) {
        on = value == 1;
    } else {
        return make_error(
            ErrorKind::kInvalidArgument,
            fmt::format("'{}' is a coil: give true or false, got {}", w.reg.name, shown(value)));
    }
    return WriteRequest{config::RegisterFunction::kCoil,
                        w.reg.address,
                        {static_cast<uint16_t>(on ? 1 : 0)},
                        w.write_multiple};
}

}  // namespace

Result<WriteRequest> plan_write(const config::WritableConfig& w, const nlohmann::json& value) {
    const config::RegisterConfig& reg = w.reg;
    if (reg.function == config::RegisterFunction::kCoil)
        return plan_coil(w, value);
    const auto refuse = [&](const std::string& why) {
        return make_error(ErrorKind::kInvalidArgument,
                          fmt::format("'{}': {} {}", reg.name, shown(value), why));
    };
    if (!value.is_number())
        return refuse(fmt::format("is not a number ({} register)", config::to_string(reg.type)));
    const double v = value.get<double>();
    if (!std::isfinite(v))
        return refuse("is not a finite number");
    if (w.min && v < *w.min)
        return refuse(fmt::format("is below its min {}", number_text(*w.min)));
    if (w.max && v > *w.max)
        return refuse(fmt::format("is above its max {}", number_text(*w.max)));
    const auto [lowest, highest] = config::writable_range(reg);
    if (v < lowest || v > highest) {
        return refuse(fmt::format("is outside what {} with scale {} and offset {} holds ({}..{})",
                                  config::to_string(reg.type), reg.scale, reg.offset,
                                  number_text(lowest), number_text(highest)));
    }
    double raw = (v - reg.offset) / reg.scale;
    Value encoded = raw;
    if (is_integer_type(reg.type)) {
        const double whole = std::round(raw);
        if (std::abs(raw - whole) > 1e-6 * std::max(1.0, std::abs(whole))) {
            return refuse(fmt::format("falls between two values the register holds (steps of {})",
                                      std::abs(reg.scale)));
        }
        raw = whole;
        if (reg.type == ValueType::kUint64 || reg.type == ValueType::kUint16 ||
            reg.type == ValueType::kUint32)
            encoded = static_cast<uint64_t>(raw);
        else
            encoded = static_cast<int64_t>(raw);
    }
    WriteRequest request;
    request.function = config::RegisterFunction::kHolding;
    request.address = reg.address;
    request.words = encode_words(reg, encoded);
    request.multiple = w.write_multiple || request.words.size() > 1;
    return request;
}

Result<std::vector<PlannedWrite>> plan_write_command(const config::MeterConfig& meter,
                                                     const nlohmann::json& payload) {
    if (!payload.is_object() || payload.empty()) {
        return make_error(
            ErrorKind::kInvalidArgument,
            "a write command is an object of \"<register>\": value, got " + shown(payload));
    }
    std::vector<PlannedWrite> planned;
    std::vector<std::string> problems;
    for (const auto& item : payload.items()) {
        const std::string& name = item.key();  // a named local: lambdas below capture it
        const nlohmann::json& value = item.value();
        const config::WritableConfig* found = nullptr;
        for (const auto& w : meter.writable) {
            if (w.reg.name == name)
                found = &w;
        }
        if (found == nullptr) {
            const bool readable = std::any_of(meter.registers.begin(), meter.registers.end(),
                                              [&](const auto& r) { return r.name == name; });
            problems.push_back(fmt::format(
                "'{}' {}", printable(name, kMaxShownChars),
                readable ? "is read-only (not in writable:)" : "is not a register of this meter"));
            continue;
        }
        auto request = plan_write(*found, value);
        if (!request) {
            problems.push_back(request.error().message);
            continue;
        }
        planned.push_back(PlannedWrite{found, value, std::move(request.value())});
    }
    if (!problems.empty()) {
        std::string known;
        for (const auto& w : meter.writable)
            known += (known.empty() ? "" : ", ") + w.reg.name;
        return make_error(ErrorKind::kInvalidArgument,
                          fmt::format("nothing written: {}; writable: {}",
                                      fmt::join(problems, "; "), known.empty() ? "none" : known));
    }
    return planned;
}

}  // namespace kaa::modbus
