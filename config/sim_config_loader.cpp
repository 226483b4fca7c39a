// The simulator configuration loader: servers, their units and the registers they serve.
#include "config/sim_config_loader.hpp"

#include <cfloat>
#include <cstdint>
#include <map>

#include "config/common_sections.hpp"
#include "config/units.hpp"
#include "config/yaml_reader.hpp"

namespace kaa::config {

namespace {

/// Where one register of a unit lives, for the overlap check.
struct Span {
    RegisterFunction function;
    int first;
    int last;
    int line;
};

/// The smallest and largest integer a type holds (integer types only). Two 64-bit
/// halves rather than __int128, which 32-bit targets (armhf) do not have.
std::pair<int64_t, uint64_t> integer_range(ValueType type) {
    switch (type) {
        case ValueType::kInt16:
            return {INT16_MIN, INT16_MAX};
        case ValueType::kUint16:
            return {0, UINT16_MAX};
        case ValueType::kInt32:
            return {INT32_MIN, INT32_MAX};
        case ValueType::kUint32:
            return {0, UINT32_MAX};
        case ValueType::kInt64:
            return {INT64_MIN, INT64_MAX};
        default:
            return {0, UINT64_MAX};
    }
}

/// True when a JSON number can be stored in a register of the given numeric type.
bool fits(ValueType type, const nlohmann::json& value) {
    if (type == ValueType::kFloat64) {
        return true;
    }
    if (type == ValueType::kFloat32) {
        double v = value.get<double>();
        return v >= -FLT_MAX && v <= FLT_MAX;
    }
    auto [min, max] = integer_range(type);
    if (value.is_number_unsigned()) {
        return value.get<uint64_t>() <= max;
    }
    if (value.is_number_integer()) {
        const int64_t v = value.get<int64_t>();
        return v >= min && (v < 0 || static_cast<uint64_t>(v) <= max);
    }
    // A fractional start value for a counter or gauge: it must lie inside the range too.
    double v = value.get<double>();
    return v >= static_cast<double>(min) && v <= static_cast<double>(max);
}

/// Reads the initial value of a register: a boolean, number or string matching its type.
nlohmann::json read_value(const MapReader& r, const RegisterConfig& reg) {
    if (!r.require("value")) {
        return nullptr;
    }
    YAML::Node node = r.get("value");
    if (!node.IsScalar()) {
        r.fail("value", "must be a single value, got " + describe(node));
        return nullptr;
    }
    const std::string& text = node.Scalar();
    const char* type = to_string(reg.type);
    if (reg.type == ValueType::kString) {
        size_t capacity = 2 * static_cast<size_t>(reg.length);
        if (reg.length > 0 && text.size() > capacity) {
            r.fail("value", "'" + text + "' has " + std::to_string(text.size()) +
                                " characters; length " + std::to_string(reg.length) +
                                " holds at most " + std::to_string(capacity));
        }
        return text;
    }
    nlohmann::json value = yaml_to_json(node, r.diag()).value_or(nullptr);
    if (reg.type == ValueType::kBool) {
        if (!value.is_boolean()) {
            r.fail("value", "must be true or false for type bool, got '" + text + "'");
        }
        return value;
    }
    if (!value.is_number()) {
        r.fail("value", std::string("must be a number for type ") + type + ", got '" + text + "'");
    } else if (!fits(reg.type, value)) {
        r.fail("value", text + " is out of range for type " + type);
    }
    return value;
}

/// Reads one simulated register: the shared keys, its value and how the value moves.
SimRegisterConfig read_sim_register(const MapReader& r) {
    SimRegisterConfig sim;
    sim.reg = read_register(r, Need::kOptional);
    sim.value = read_value(r, sim.reg);
    for (const char* key : {"rise_per_second", "wander"}) {
        if (r.has(key) && !is_numeric(sim.reg.type)) {
            r.fail(key, std::string("is only allowed with numeric types, not ") +
                            to_string(sim.reg.type));
        }
    }
    if (auto v = r.number("rise_per_second")) {
        sim.step_per_second = *v;
    }
    if (auto v = r.number("wander")) {
        if (*v < 0) {
            r.fail("wander", "must be at least 0, got " + r.get("wander").Scalar());
        } else {
            sim.wander = *v;
        }
    }
    return sim;
}

/// Reports a register that shares an address of its table with an earlier one.
void check_overlap(const MapReader& r, const RegisterConfig& reg, std::vector<Span>& spans) {
    Span span{reg.function, reg.address, reg.address + register_count(reg.type, reg.length) - 1,
              r.where().line};
    for (const Span& other : spans) {
        if (other.function == span.function && span.first <= other.last &&
            other.first <= span.last) {
            r.fail("address", std::to_string(span.first) + ".." + std::to_string(span.last) +
                                  " overlaps the " + to_string(span.function) +
                                  " register at line " + std::to_string(other.line) +
                                  " (addresses " + std::to_string(other.first) + ".." +
                                  std::to_string(other.last) + ")");
            return;
        }
    }
    spans.push_back(span);
}

/// "<server> unit <id>" for messages, or "<server> units[<index>]" without an id.
std::string unit_label(const std::string& server, const YAML::Node& node, size_t index) {
    if (node.IsMap()) {
        for (auto it = node.begin(); it != node.end(); ++it) {
            if (it->first.IsScalar() && it->first.Scalar() == "unit" && it->second.IsScalar()) {
                return server + " unit " + it->second.Scalar();
            }
        }
    }
    return server + " units[" + std::to_string(index) + "]";
}

/// The longest reply_delay: beyond it a meter is simply dead (leave the unit out).
constexpr std::chrono::milliseconds kMaxReplyDelay{60'000};

const std::vector<std::pair<std::string, SimCorruption>> kCorruptionNames = {
    {"none", SimCorruption::kNone},
    {"crc", SimCorruption::kCrc},
    {"garbage", SimCorruption::kGarbage}};

/// Reads a unit's faults: reply_delay, corrupt and corrupt_every (RTU servers only).
SimFaults read_faults(const MapReader& u, bool serial) {
    SimFaults faults;
    for (const char* key : {"reply_delay", "corrupt", "corrupt_every"}) {
        if (u.has(key) && !serial) {
            u.fail(key, "is only simulated on rtu servers, not on tcp");
        }
    }
    if (auto v = u.duration("reply_delay")) {
        if (*v > kMaxReplyDelay) {
            u.fail("reply_delay",
                   "must be at most 60s, got " + u.get("reply_delay").Scalar() +
                       " (leave the unit out to simulate a meter that never answers)");
        } else {
            faults.reply_delay = *v;
        }
    }
    if (auto v = u.choice("corrupt", kCorruptionNames)) {
        faults.corrupt = *v;
    }
    if (auto v = u.integer("corrupt_every", 1, 1'000'000)) {
        if (faults.corrupt == SimCorruption::kNone) {
            u.fail("corrupt_every", "needs corrupt: crc or corrupt: garbage");
        }
        faults.corrupt_every = static_cast<int>(*v);
    }
    return faults;
}

/// Reads one unit: its id, illegal_holes, faults and registers.
SimUnitConfig read_unit(const MapReader& u, bool serial) {
    SimUnitConfig unit;
    unit.where = u.where();
    if (auto v = u.integer("unit", 1, 247, Need::kRequired)) {
        unit.unit = static_cast<int>(*v);
    }
    if (auto v = u.boolean("illegal_holes")) {
        unit.illegal_holes = *v;
    }
    unit.faults = read_faults(u, serial);
    auto items = u.list("registers");
    if (!items) {
        return unit;
    }
    std::vector<Span> spans;
    for (size_t j = 0; j < items->size(); ++j) {
        const YAML::Node& node = (*items)[j];
        MapReader r(u.diag(), node,
                    u.section() + " " + item_label(node, "register", "registers", j),
                    concat(kRegisterKeys, {"value", "rise_per_second", "wander"}),
                    u.value_where("registers"));
        if (!r.is_map()) {
            continue;
        }
        size_t errors_before = u.diag().error_count();
        unit.registers.push_back(read_sim_register(r));
        if (u.diag().error_count() == errors_before) {
            check_overlap(r, unit.registers.back().reg, spans);
        }
    }
    return unit;
}

const std::vector<std::pair<std::string, SimWrongId>> kWrongIdNames = {
    {"transaction", SimWrongId::kTransaction}, {"unit", SimWrongId::kUnit}};

/// Reads a server's converter: mapping (tcp servers only).
SimConverterConfig read_converter(const MapReader& s) {
    MapReader c(s.diag(), s.get("converter"), s.section() + " converter",
                {"baud", "wrong_id_every", "wrong_id", "wrong_id_word"}, s.key_where("converter"));
    SimConverterConfig converter;
    if (s.has("rtu")) {
        s.fail("converter",
               "is only simulated on tcp servers (it is the TCP side of a "
               "TCP-to-RTU converter)");
    }
    if (auto v = c.integer("baud", 300, 1'000'000)) {
        converter.baud = static_cast<int>(*v);
    }
    if (auto v = c.integer("wrong_id_every", 0, 1'000'000)) {
        converter.wrong_id_every = static_cast<int>(*v);
    }
    if (auto v = c.choice("wrong_id", kWrongIdNames)) {
        converter.wrong_id = *v;
    }
    if (auto v = c.integer("wrong_id_word", 0, 0xFFFF)) {
        converter.wrong_id_word = static_cast<uint16_t>(*v);
    }
    return converter;
}

/// Reads one server: name, link and units (unit ids unique within it).
SimServerConfig read_server(const MapReader& s) {
    SimServerConfig server;
    server.where = s.where();
    if (auto v = s.string("name", Need::kRequired)) {
        server.name = *v;
    }
    if (auto link = read_link(s)) {
        server.link = *link;
    }
    const bool serial = s.has("rtu");
    if (s.has("converter")) {
        server.converter = read_converter(s);
    }
    auto items = s.list("units");
    if (!items) {
        return server;
    }
    std::map<int, int> unit_lines;
    for (size_t j = 0; j < items->size(); ++j) {
        const YAML::Node& node = (*items)[j];
        MapReader u(
            s.diag(), node, unit_label(s.section(), node, j),
            {"unit", "illegal_holes", "reply_delay", "corrupt", "corrupt_every", "registers"},
            s.value_where("units"));
        if (!u.is_map()) {
            continue;
        }
        server.units.push_back(read_unit(u, serial));
        int id = server.units.back().unit;
        YAML::Node written = u.get("unit");
        if (written.IsScalar() && parse_integer(written.Scalar()) == id) {
            if (auto [it, inserted] = unit_lines.emplace(id, u.where().line); !inserted) {
                u.fail("unit", std::to_string(id) + " is already simulated by this server (line " +
                                   std::to_string(it->second) + ")");
            }
        }
    }
    return server;
}

/// Reads the whole document.
SimConfig read_sim(Diagnostics& diag, const YAML::Node& root) {
    SimConfig config;
    config.source_path = diag.file();
    MapReader top(diag, root, "", {"servers"}, Location{diag.file(), 1, 1});
    auto items = top.list("servers", Need::kRequired);
    if (!items) {
        return config;
    }
    if (items->empty()) {
        top.fail("servers", "must list at least one server");
    }
    std::map<std::string, int> name_lines;
    for (size_t i = 0; i < items->size(); ++i) {
        const YAML::Node& node = (*items)[i];
        MapReader s(diag, node, item_label(node, "server", "servers", i),
                    {"name", "tcp", "rtu", "converter", "units"}, top.value_where("servers"));
        if (!s.is_map()) {
            continue;
        }
        config.servers.push_back(read_server(s));
        const std::string& name = config.servers.back().name;
        if (name.empty()) {
            continue;
        }
        if (auto [it, inserted] = name_lines.emplace(name, s.where().line); !inserted) {
            s.fail("name", "'" + name + "' is already used by the server at line " +
                               std::to_string(it->second));
        }
    }
    return config;
}

}  // namespace

LoadSimResult load_sim_config_text(const std::string& yaml_text, const std::string& file_name) {
    Diagnostics diag(file_name);
    std::optional<SimConfig> config;
    try {
        if (auto root = parse_yaml(diag, yaml_text)) {
            config = read_sim(diag, *root);
        }
    } catch (const std::exception& e) {
        diag.error(Location{file_name, 0, 0},
                   std::string("internal error while reading the configuration: ") + e.what());
    }
    LoadSimResult result;
    result.errors = diag.errors();
    result.warnings = diag.warnings();
    if (result.errors.empty()) {
        result.config = std::move(config);
    }
    return result;
}

LoadSimResult load_sim_config(const std::string& path) {
    Diagnostics diag(path);
    const std::optional<std::string> text = read_config_file(diag, path);
    if (!text) {
        LoadSimResult result;
        result.errors = diag.errors();
        return result;
    }
    return load_sim_config_text(*text, path);
}

}  // namespace kaa::config
