// Comparing the running configuration with a reloaded one, meter by meter and bus by bus.
#include "daemon/config_diff.hpp"

#include <map>

#include <nlohmann/json.hpp>

#include "config/config_json.hpp"

namespace kaa {
namespace {

using nlohmann::json;

/// Removes every "where" (a file location) from a config_json document, recursively.
void strip_locations(json& doc) {
    if (doc.is_object()) {
        doc.erase("where");
        for (auto& [key, value] : doc.items())
            strip_locations(value);
    } else if (doc.is_array()) {
        for (auto& value : doc)
            strip_locations(value);
    }
}

/// A meter's settings as a comparable document (no locations).
json meter_settings(const config::MeterConfig& meter) {
    json doc = config::to_json(meter);
    strip_locations(doc);
    return doc;
}

/// A bus's settings as a comparable document (no locations).
json bus_settings(const config::BusConfig& bus) {
    config::GatewayConfig only;
    only.buses.push_back(bus);
    json doc = std::move(config::to_json(only)["buses"][0]);
    strip_locations(doc);
    return doc;
}

/// "keepalive_ms" -> "keepalive", "max_size_bytes" -> "max_size": the names users write.
std::string user_key(std::string key) {
    for (const std::string suffix : {"_ms", "_bytes"}) {
        if (key.size() > suffix.size() &&
            key.compare(key.size() - suffix.size(), suffix.size(), suffix) == 0) {
            key.resize(key.size() - suffix.size());
        }
    }
    return key;
}

/// Appends "section.key" for every key of the section that differs.
void list_differences(const std::string& section, const json& running, const json& loaded,
                      std::vector<std::string>& out) {
    for (const auto& [key, value] : running.items()) {
        if (!loaded.contains(key) || loaded.at(key) != value)
            out.push_back(section + "." + user_key(key));
    }
}

/// The settings a restart is needed for: differences in the kaa: and buffer: sections.
std::vector<std::string> restart_only_changes(const config::GatewayConfig& running,
                                              const config::GatewayConfig& loaded) {
    config::GatewayConfig a, b;
    a.kaa = running.kaa;
    a.buffer = running.buffer;
    b.kaa = loaded.kaa;
    b.buffer = loaded.buffer;
    const json ja = config::to_json(a);
    const json jb = config::to_json(b);
    std::vector<std::string> out;
    list_differences("kaa", ja.at("kaa"), jb.at("kaa"), out);
    list_differences("buffer", ja.at("buffer"), jb.at("buffer"), out);
    // The gateway's own endpoint and the status socket are set up once, at start.
    if (running.gateway.token != loaded.gateway.token)
        out.push_back("gateway.token");
    if (running.status.socket != loaded.status.socket)
        out.push_back("status.socket");
    if (running.status.http_host != loaded.status.http_host ||
        running.status.http_port != loaded.status.http_port)
        out.push_back("status.http");
    return out;
}

}  // namespace

std::set<std::string> polled_buses(const config::GatewayConfig& config,
                                   const std::vector<bool>& active) {
    std::set<std::string> out;
    for (size_t m = 0; m < config.meters.size(); ++m) {
        if (m < active.size() && active[m])
            out.insert(config.meters[m].bus);
    }
    std::set<std::string> defined;
    for (const auto& bus : config.buses)
        defined.insert(bus.name);
    std::set<std::string> both;
    for (const auto& name : out) {
        if (defined.count(name) > 0)
            both.insert(name);
    }
    return both;
}

ConfigDiff diff_configs(const config::GatewayConfig& running, const std::vector<bool>& active,
                        config::GatewayConfig loaded) {
    ConfigDiff diff;
    diff.needs_restart = restart_only_changes(running, loaded);

    // Slots: running meters keep theirs, new ones are appended.
    std::map<std::string, size_t> slot_by_name;
    for (size_t m = 0; m < running.meters.size(); ++m)
        slot_by_name.emplace(running.meters[m].name, m);
    diff.next.source_path = loaded.source_path;
    diff.next.kaa = running.kaa;
    diff.next.buffer = running.buffer;
    diff.next.status = running.status;
    diff.next.gateway = loaded.gateway;  // health_interval applies at once
    diff.next.gateway.token = running.gateway.token;
    diff.next.buses = std::move(loaded.buses);
    diff.next.meters = running.meters;
    diff.active.assign(running.meters.size(), false);

    // Buses with a meter added, changed or removed (before or after) restart.
    std::set<std::string> touched;
    for (auto& meter : loaded.meters) {
        const auto found = slot_by_name.find(meter.name);
        if (found == slot_by_name.end()) {
            diff.added.push_back(diff.next.meters.size());
            touched.insert(meter.bus);
            diff.next.meters.push_back(std::move(meter));
            diff.active.push_back(true);
            continue;
        }
        const size_t slot = found->second;
        const bool was_active = slot < active.size() && active[slot];
        const config::MeterConfig& old = running.meters[slot];
        if (!was_active) {
            diff.added.push_back(slot);
            touched.insert(meter.bus);
        } else if (meter_settings(old) != meter_settings(meter)) {
            diff.changed.push_back(slot);
            touched.insert(old.bus);
            touched.insert(meter.bus);
        }
        diff.next.meters[slot] = std::move(meter);
        diff.active[slot] = true;
    }
    for (size_t m = 0; m < running.meters.size(); ++m) {
        if (m < active.size() && active[m] && !diff.active[m]) {
            diff.removed.push_back(m);
            touched.insert(running.meters[m].bus);
        }
    }

    const std::set<std::string> before = polled_buses(running, active);
    const std::set<std::string> after = polled_buses(diff.next, diff.active);
    std::map<std::string, json> old_buses;
    for (const auto& bus : running.buses)
        old_buses.emplace(bus.name, bus_settings(bus));
    for (const auto& bus : diff.next.buses) {
        if (after.count(bus.name) == 0)
            continue;
        const auto old = old_buses.find(bus.name);
        const bool changed = old == old_buses.end() || old->second != bus_settings(bus);
        if (before.count(bus.name) == 0 || changed || touched.count(bus.name) > 0)
            diff.restart_buses.insert(bus.name);
    }
    for (const auto& name : before) {
        if (after.count(name) == 0)
            diff.stop_buses.insert(name);
    }
    return diff;
}

}  // namespace kaa
