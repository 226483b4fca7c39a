// The buses: and meters: lists of the gateway configuration, with Kaa's naming rules for
// endpoint tokens, metadata keys and metric names.
#include "config/meter_sections.hpp"

#include "config/writable_sections.hpp"

#include <algorithm>
#include <map>

#include "config/common_sections.hpp"
#include "config/report_sections.hpp"
#include "config/units.hpp"
#include "core/utf8.hpp"

namespace kaa::config {

namespace {

constexpr Millis kMinPollInterval{100};

/// A register name in use within one meter, for the uniqueness check.
struct NameUse {
    std::string name;
    Location where;
    std::string label;
    bool metadata = false;
};

/// ASCII letters and digits only, whatever the locale.
bool is_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/// True when s is non-empty and every character satisfies pred.
template <typename Pred>
bool all_chars(const std::string& s, Pred pred) {
    return !s.empty() && std::all_of(s.begin(), s.end(), pred);
}

/// An EPMP metadata key: [a-zA-Z0-9_]+.
bool is_epmp_key(const std::string& s) {
    return all_chars(s, [](char c) { return is_alnum(c) || c == '_'; });
}

/// A DCX sample key: [A-Za-z0-9_-]+.
bool is_metric_name(const std::string& s) {
    return all_chars(s, [](char c) { return is_alnum(c) || c == '_' || c == '-'; });
}

/// A meter name: [A-Za-z0-9_.-]+.
bool is_meter_name(const std::string& s) {
    return all_chars(s, [](char c) { return is_alnum(c) || c == '_' || c == '.' || c == '-'; });
}

/// Checks a register name against Kaa's rules; metadata register names are EPMP keys.
bool check_register_name(const MapReader& r, const std::string& name, bool metadata) {
    static const std::vector<std::string> kEptsReserved = {"time", "kaaEndpointID", "kaaEmpty",
                                                           "_field", "_measurement"};
    const std::string quoted = "'" + name + "'";
    if (metadata && !is_epmp_key(name)) {
        r.fail("name", quoted +
                           " may contain only letters, digits and '_' (it is an EPMP "
                           "metadata key)");
    } else if (!is_metric_name(name)) {
        r.fail("name", quoted + " may contain only letters, digits, '_' and '-'");
    } else if (all_chars(name, [](char c) { return c >= '0' && c <= '9'; })) {
        r.fail("name", quoted + " must not be purely numeric");
    } else if (std::find(kEptsReserved.begin(), kEptsReserved.end(), name) != kEptsReserved.end()) {
        r.fail("name", quoted + " is reserved by Kaa's time series service (EPTS)");
    } else {
        return true;
    }
    return false;
}

/// Reads one entry of a meter's registers or metadata_registers list. A polled register
/// with `send_as: metadata` is a metadata register written among the others: it is read
/// like one, and `as_metadata` says so.
RegisterConfig read_meter_register(const MapReader& meter, const YAML::Node& node,
                                   const std::string& label, bool metadata,
                                   std::vector<NameUse>& names, bool& as_metadata) {
    std::vector<std::string> keys = concat(kRegisterKeys, {"scale", "offset"});
    if (!metadata) {
        keys.insert(keys.end(), kReportRegisterKeys.begin(), kReportRegisterKeys.end());
        keys.emplace_back("send_as");
    }
    MapReader r(meter.diag(), node, label, keys, meter.where());
    as_metadata = false;
    if (!r.is_map()) {
        return RegisterConfig{};
    }
    RegisterConfig reg = read_register(r, Need::kRequired);
    if (!metadata) {
        static const std::vector<std::pair<std::string, bool>> kSendAs = {{"sample", false},
                                                                          {"metadata", true}};
        as_metadata = r.choice("send_as", kSendAs).value_or(false);
        if (!as_metadata) {
            read_register_report(r, reg);
        } else {
            for (const auto& key : kReportRegisterKeys) {
                if (r.has(key))
                    r.fail(key,
                           "does not apply with send_as: metadata (a metadata value is "
                           "sent when it changes)");
            }
            metadata = true;
        }
    }
    for (const char* key : {"scale", "offset"}) {
        if (r.has(key) && !is_numeric(reg.type)) {
            r.fail(key, std::string("is not allowed with type ") + to_string(reg.type));
        }
    }
    if (auto v = r.number("scale")) {
        if (*v == 0) {
            r.fail("scale", "must be a non-zero finite number, got " + r.get("scale").Scalar());
        } else {
            reg.scale = *v;
        }
    }
    if (auto v = r.number("offset")) {
        reg.offset = *v;
    }
    if (!reg.name.empty() && check_register_name(r, reg.name, metadata)) {
        names.push_back(NameUse{reg.name, r.value_where("name"), label, metadata});
    }
    return reg;
}

/// True when every string in `value`, keys included, is UTF-8 (the uplink publishes it as
/// JSON text, which carries nothing else).
bool is_utf8_json(const nlohmann::json& value) {
    if (value.is_string())
        return is_utf8(value.get_ref<const std::string&>());
    if (!value.is_structured())
        return true;
    for (auto it = value.begin(); it != value.end(); ++it) {
        if ((value.is_object() && !is_utf8(it.key())) || !is_utf8_json(it.value()))
            return false;
    }
    return true;
}

/// Reads a meter's static metadata mapping; records each key's location in keys.
nlohmann::json read_metadata(const MapReader& m, std::vector<NameUse>& keys) {
    nlohmann::json metadata = nlohmann::json::object();
    YAML::Node node = m.get("metadata");
    if (node.IsNull()) {
        return metadata;
    }
    if (!node.IsMap()) {
        m.fail("metadata", "must be a mapping of keys to values, got " + describe(node));
        return metadata;
    }
    for (auto it = node.begin(); it != node.end(); ++it) {
        Location at = m.diag().locate(it->first, m.value_where("metadata"));
        std::string key = it->first.IsScalar() ? it->first.Scalar() : "";
        if (!is_epmp_key(key)) {
            m.diag().error(at, m.section() + ": metadata key '" + key +
                                   "' may contain only letters, digits and '_'");
        } else if (metadata.contains(key)) {
            m.diag().error(at, m.section() + ": duplicate metadata key '" + key + "'");
        } else {
            keys.push_back(NameUse{key, at, m.section(), true});
            auto value = yaml_to_json(it->second, m.diag());
            if (value && !is_utf8_json(*value)) {
                m.diag().error(at, m.section() + ": metadata '" + key +
                                       "' is not UTF-8 text; save the file as UTF-8");
            } else if (value) {
                metadata[key] = *value;
            } else {
                m.diag().error(at, m.section() + ": metadata '" + key +
                                       "' is nested too deeply or too large (or refers "
                                       "to itself)");
            }
        }
    }
    return metadata;
}

/// Reads one of a meter's register lists; returns false when the list itself was unusable.
bool read_register_list(const MapReader& m, const char* key, bool metadata,
                        std::vector<RegisterConfig>& out, std::vector<NameUse>& names,
                        std::vector<RegisterConfig>& metadata_out) {
    auto items = m.list(key);
    if (!items) {
        return !m.has(key);
    }
    const char* kind = metadata ? "metadata register" : "register";
    for (size_t j = 0; j < items->size(); ++j) {
        std::string label =
            (m.section().empty() ? "" : m.section() + " ") + item_label((*items)[j], kind, key, j);
        bool as_metadata = false;
        RegisterConfig reg =
            read_meter_register(m, (*items)[j], label, metadata, names, as_metadata);
        (as_metadata ? metadata_out : out).push_back(std::move(reg));
    }
    return true;
}

/// Reports register names used twice in a meter, and metadata registers that repeat a
/// static metadata key.
void check_unique_names(Diagnostics& diag, std::vector<NameUse> names,
                        const std::vector<NameUse>& static_keys) {
    std::stable_sort(names.begin(), names.end(), [](const NameUse& a, const NameUse& b) {
        return std::tie(a.where.line, a.where.column) < std::tie(b.where.line, b.where.column);
    });
    std::map<std::string, const NameUse*> first;
    for (const NameUse& use : names) {
        auto [it, inserted] = first.emplace(use.name, &use);
        if (!inserted) {
            diag.error(use.where, use.label + ": name '" + use.name +
                                      "' is already used by the register at line " +
                                      std::to_string(it->second->where.line));
        }
    }
    for (const NameUse& key : static_keys) {
        auto it = first.find(key.name);
        if (it != first.end() && it->second->metadata) {
            diag.error(it->second->where, it->second->label + ": name '" + key.name +
                                              "' is already a static metadata key (line " +
                                              std::to_string(key.where.line) + ")");
        }
    }
}

/// Reads name, token and bus of a meter, checking them against the other meters and buses;
/// returns the meter's bus when it is defined.
const BusConfig* read_meter_identity(const MapReader& m, const std::vector<BusConfig>& buses,
                                     std::map<std::string, int>& name_lines,
                                     std::map<std::string, std::string>& token_owners,
                                     MeterConfig& meter) {
    if (auto v = m.string("name", Need::kRequired)) {
        if (!is_meter_name(*v)) {
            m.fail("name", "'" + *v + "' may contain only letters, digits, '_', '.' and '-'");
        } else if (auto [it, inserted] = name_lines.emplace(*v, m.where().line); !inserted) {
            m.fail("name", "'" + *v + "' is already used by the meter at line " +
                               std::to_string(it->second));
        }
        meter.name = *v;
    }
    if (auto v = m.string("token", Need::kRequired)) {
        if (v->find_first_of("+#/.") != std::string::npos) {
            m.fail("token",
                   "'" + *v + "' must not contain + # / . characters (Kaa endpoint token)");
        } else if (auto [it, inserted] = token_owners.emplace(*v, meter.name); !inserted) {
            m.fail("token", "'" + *v + "' is already used by meter '" + it->second + "'");
        }
        meter.token = *v;
    }
    if (auto v = m.string("bus", Need::kRequired)) {
        meter.bus = *v;
        auto bus = std::find_if(buses.begin(), buses.end(),
                                [&](const BusConfig& b) { return b.name == *v; });
        if (bus == buses.end()) {
            std::vector<std::string> defined;
            for (const auto& b : buses) {
                defined.push_back(b.name);
            }
            m.fail("bus", "'" + *v + "' is not defined; " +
                              (defined.empty() ? std::string("no buses are defined")
                                               : "defined buses: " + join(defined)));
            return nullptr;
        }
        return &*bus;
    }
    return nullptr;
}

/// Profiles read for this file, by id (nullopt: not found or not usable, already reported).
using ProfileCache = std::map<std::string, std::optional<MeterProfile>>;

/// The meter's `profile:`, read once per file; nullptr when it names none or a bad one.
const MeterProfile* meter_profile(const MapReader& m, const std::vector<std::string>& dirs,
                                  ProfileCache& cache) {
    const std::optional<std::string> id = m.string("profile");
    if (!id)
        return nullptr;
    if (!is_profile_id(*id)) {
        m.fail("profile", "'" + *id + "' is not a profile id (letters a-z, digits and '-')");
        return nullptr;
    }
    auto it = cache.find(*id);
    if (it == cache.end()) {
        std::optional<MeterProfile> loaded;
        if (const auto path = find_profile(*id, dirs)) {
            ProfileResult r = load_profile_file(*path);
            for (const ConfigError& e : r.errors)
                m.diag().error(e.where, e.message);
            loaded = std::move(r.profile);
        }
        it = cache.emplace(*id, std::move(loaded)).first;
        if (!it->second && !find_profile(*id, dirs)) {
            m.fail("profile", "'" + *id + "' is not a known profile (looked in " + join(dirs) +
                                  "; `kaa-gateway profiles` lists them)");
        }
    }
    return it->second ? &*it->second : nullptr;
}

/// The profile's registers with the meter's own added, or in place of the profile's
/// register of the same name.
std::vector<RegisterConfig> merged(const std::vector<RegisterConfig>& from_profile,
                                   std::vector<RegisterConfig> own) {
    std::vector<RegisterConfig> out = from_profile;
    for (RegisterConfig& reg : own) {
        auto same = std::find_if(out.begin(), out.end(),
                                 [&](const RegisterConfig& r) { return r.name == reg.name; });
        if (same != out.end())
            *same = std::move(reg);
        else
            out.push_back(std::move(reg));
    }
    return out;
}

/// Reads one meter mapping.
MeterConfig read_meter(const MapReader& m, const std::vector<BusConfig>& buses,
                       const std::string& timestamp_key, std::map<std::string, int>& name_lines,
                       std::map<std::string, std::string>& token_owners,
                       const std::vector<std::string>& profile_dirs, ProfileCache& profiles) {
    MeterConfig meter;
    const MeterProfile* profile = meter_profile(m, profile_dirs, profiles);
    if (profile != nullptr) {
        meter.profile = profile->id;
        meter.max_gap = profile->max_gap.value_or(meter.max_gap);
        meter.max_registers = profile->max_registers.value_or(meter.max_registers);
    }
    meter.where = m.where();
    const BusConfig* bus = read_meter_identity(m, buses, name_lines, token_owners, meter);
    if (auto v = m.integer("unit", 0, 247)) {
        meter.unit = static_cast<int>(*v);
        if (*v == 0 && bus != nullptr && std::holds_alternative<RtuLink>(bus->link)) {
            m.fail("unit", "0 is the RTU broadcast address, which meters never answer; use 1..247");
        }
    }
    if (auto v = m.duration("poll_interval")) {
        if (*v < kMinPollInterval) {
            m.fail("poll_interval",
                   "must be at least 100ms, got " + m.get("poll_interval").Scalar());
        } else {
            meter.poll_interval = *v;
        }
    }
    if (auto v = m.duration("metadata_interval")) {
        if (*v < std::chrono::seconds(1)) {
            m.fail("metadata_interval",
                   "must be at least 1s, got " + m.get("metadata_interval").Scalar());
        } else {
            meter.metadata_interval = *v;
        }
    }
    if (auto v = m.integer("max_gap", 0, 125)) {
        meter.max_gap = static_cast<int>(*v);
    }
    if (auto v = m.integer("max_registers", 1, 125)) {
        meter.max_registers = static_cast<int>(*v);
    }
    std::vector<NameUse> static_keys;
    if (m.has("metadata")) {
        meter.metadata = read_metadata(m, static_keys);
    }
    std::vector<NameUse> names;
    read_register_list(m, "metadata_registers", true, meter.metadata_registers, names,
                       meter.metadata_registers);
    const bool registers_read =
        read_register_list(m, "registers", false, meter.registers, names, meter.metadata_registers);
    if (profile != nullptr) {
        meter.metadata_registers =
            merged(profile->metadata_registers, std::move(meter.metadata_registers));
        meter.registers = merged(profile->registers, std::move(meter.registers));
    }
    if (registers_read && meter.registers.empty() && (profile != nullptr || !m.has("profile"))) {
        m.fail(m.has("profile") && !m.has("registers") ? "profile" : "registers",
               "must list at least one register");
    }
    for (const NameUse& use : names) {
        if (!use.metadata && use.name == timestamp_key) {
            m.diag().error(use.where, use.label + ": name '" + use.name +
                                          "' is the key that carries each sample's read time "
                                          "(kaa.timestamp.key); rename the register or the key");
        }
    }
    check_unique_names(m.diag(), std::move(names), static_keys);
    read_meter_report(m, meter);
    meter.writable = read_writable_list(m);
    return meter;
}

/// A meter configured with unit 0, for the check once every meter is read.
struct UnitZero {
    size_t meter;
    std::string label;
    Location where;
};

/// Refuses unit 0 on a TCP bus that is a TCP-to-RTU converter (several meters share it,
/// or it has a converter key): the converter would send it to the serial line as the
/// broadcast address, which no meter answers. A lone native Modbus TCP device may still
/// be addressed as unit 0; on RTU it is refused where the meter is read.
void check_unit_zero(Diagnostics& diag, const std::vector<BusConfig>& buses,
                     const std::vector<MeterConfig>& meters, const std::vector<UnitZero>& zeros) {
    for (const UnitZero& zero : zeros) {
        const MeterConfig& meter = meters[zero.meter];
        const auto bus = std::find_if(buses.begin(), buses.end(),
                                      [&](const BusConfig& b) { return b.name == meter.bus; });
        if (bus == buses.end() || !std::holds_alternative<TcpLink>(bus->link))
            continue;
        const auto sharing = std::count_if(
            meters.begin(), meters.end(), [&](const MeterConfig& m) { return m.bus == bus->name; });
        std::string why;
        if (sharing > 1)
            why = std::to_string(sharing) + " meters share bus '" + bus->name + "'";
        else if (bus->close_after_poll || bus->pause_after_connect.count() > 0)
            why = "bus '" + bus->name + "' is set up for a TCP-to-RTU converter";
        if (why.empty())
            continue;
        diag.error(zero.where, zero.label +
                                   ": unit 0 is the Modbus broadcast address: a TCP-to-RTU "
                                   "converter passes it on as a broadcast, which no meter "
                                   "answers; " +
                                   why + ", so give each meter its own unit 1..247");
    }
}

}  // namespace

bool is_sample_key(const std::string& key) {
    return is_metric_name(key) && !all_chars(key, [](char c) { return c >= '0' && c <= '9'; });
}

void read_profile_body(const MapReader& top, MeterProfile& out) {
    if (auto v = top.integer("max_gap", 0, 125))
        out.max_gap = static_cast<int>(*v);
    if (auto v = top.integer("max_registers", 1, 125))
        out.max_registers = static_cast<int>(*v);
    std::vector<NameUse> names;
    read_register_list(top, "metadata_registers", true, out.metadata_registers, names,
                       out.metadata_registers);
    if (read_register_list(top, "registers", false, out.registers, names, out.metadata_registers) &&
        out.registers.empty()) {
        top.fail("registers", "must list at least one register");
    }
    check_unique_names(top.diag(), std::move(names), {});
}

std::vector<MeterConfig> read_meters(const MapReader& top, const std::vector<BusConfig>& buses,
                                     const std::string& timestamp_key,
                                     const std::vector<std::string>& profile_dirs) {
    ProfileCache profiles;
    std::vector<MeterConfig> meters;
    auto items = top.list("meters");
    if (!items) {
        return meters;
    }
    std::map<std::string, int> name_lines;
    std::map<std::string, std::string> token_owners;
    std::vector<UnitZero> unit_zero;
    for (size_t i = 0; i < items->size(); ++i) {
        MapReader m(top.diag(), (*items)[i], item_label((*items)[i], "meter", "meters", i),
                    {"name", "token", "bus", "unit", "poll_interval", "metadata", "profile",
                     "metadata_registers", "metadata_interval", "registers", "writable", "max_gap",
                     "max_registers", "report", "heartbeat"},
                    top.value_where("meters"));
        if (m.is_map()) {
            meters.push_back(read_meter(m, buses, timestamp_key, name_lines, token_owners,
                                        profile_dirs, profiles));
            if (meters.back().unit == 0 && m.has("unit"))
                unit_zero.push_back(
                    UnitZero{meters.size() - 1, m.section(), m.value_where("unit")});
        }
    }
    check_unit_zero(top.diag(), buses, meters, unit_zero);
    return meters;
}

}  // namespace kaa::config
