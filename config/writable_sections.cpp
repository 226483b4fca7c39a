// A meter's writable registers: keys, the tables that can be written, ranges the type holds.
#include "config/writable_sections.hpp"

#include <cmath>
#include <limits>
#include <map>

#include <fmt/format.h>

#include "config/common_sections.hpp"
#include "config/meter_sections.hpp"

namespace kaa::config {
namespace {

/// A bound to 15 significant digits: 65535, 3276.7 (not 3276.7000000000003).
std::string bound_text(double v) {
    return fmt::format("{:.15g}", v);
}

/// Reads one entry of the list.
WritableConfig read_writable(const MapReader& meter, const YAML::Node& node,
                             const std::string& label) {
    MapReader r(meter.diag(), node, label,
                concat(kRegisterKeys, {"scale", "offset", "min", "max", "write_multiple"}),
                meter.where());
    WritableConfig w;
    if (!r.is_map())
        return w;
    w.reg = read_register(r, Need::kRequired);
    RegisterConfig& reg = w.reg;
    if (reg.function == RegisterFunction::kInput || reg.function == RegisterFunction::kDiscrete) {
        r.fail("function", std::string(to_string(reg.function)) +
                               " is read-only in Modbus; a writable register is holding or coil");
    }
    if (reg.type == ValueType::kString)
        r.fail("type", "string cannot be written; use a number type");
    const bool numeric = is_numeric(reg.type);
    for (const char* key : {"scale", "offset", "min", "max"}) {
        if (r.has(key) && !numeric)
            r.fail(key, std::string("is not allowed with type ") + to_string(reg.type));
    }
    if (auto v = r.number("scale")) {
        if (*v == 0)
            r.fail("scale", "must be a non-zero finite number, got " + r.get("scale").Scalar());
        else
            reg.scale = *v;
    }
    if (auto v = r.number("offset"))
        reg.offset = *v;
    w.min = numeric ? r.number("min") : std::nullopt;
    w.max = numeric ? r.number("max") : std::nullopt;
    if (auto v = r.boolean("write_multiple"))
        w.write_multiple = *v;
    if (!numeric || reg.type == ValueType::kString)
        return w;
    const auto [lowest, highest] = writable_range(reg);
    const std::string in_type =
        fmt::format("{} with scale {} and offset {} holds {}..{}", to_string(reg.type), reg.scale,
                    reg.offset, bound_text(lowest), bound_text(highest));
    if (w.min && *w.min < lowest)
        r.fail("min", fmt::format("{} cannot be written: {}", bound_text(*w.min), in_type));
    if (w.max && *w.max > highest)
        r.fail("max", fmt::format("{} cannot be written: {}", bound_text(*w.max), in_type));
    if (w.min && w.max && *w.min > *w.max)
        r.fail("max", fmt::format("must not be below min ({}), got {}", bound_text(*w.min),
                                  bound_text(*w.max)));
    return w;
}

}  // namespace

std::vector<WritableConfig> read_writable_list(const MapReader& m) {
    std::vector<WritableConfig> out;
    auto items = m.list("writable");
    if (!items)
        return out;
    std::map<std::string, int> first_line;
    for (size_t j = 0; j < items->size(); ++j) {
        const std::string label = (m.section().empty() ? "" : m.section() + " ") +
                                  item_label((*items)[j], "writable register", "writable", j);
        WritableConfig w = read_writable(m, (*items)[j], label);
        if (!w.reg.name.empty()) {
            if (!is_sample_key(w.reg.name)) {
                m.diag().error(w.reg.where,
                               label + ": name '" + w.reg.name +
                                   "' must be letters, digits, _ and - (not only digits): it "
                                   "is the key of a write command");
            }
            auto [it, inserted] = first_line.emplace(w.reg.name, w.reg.where.line);
            if (!inserted) {
                m.diag().error(w.reg.where, label + ": name '" + w.reg.name +
                                                "' is already used by the writable register "
                                                "at line " +
                                                std::to_string(it->second));
            }
        }
        out.push_back(std::move(w));
    }
    return out;
}

}  // namespace kaa::config
