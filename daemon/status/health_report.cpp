// The gateway endpoint's metadata and health samples, from the status document.
#include "daemon/status/health_report.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "daemon/status/document_fields.hpp"

namespace kaa::status {
namespace {

using nlohmann::json;

/// `doc[key]` as a count: 0 when missing, not a number or negative.
uint64_t count_at(const json& doc, const char* key) {
    return static_cast<uint64_t>(std::max<int64_t>(0, int_of(doc, key)));
}

/// `doc[key]` when it is an object, else an empty one.
const json& section(const json& doc, const char* key) {
    static const json empty = json::object();
    const json& m = member(doc, key);
    return m.is_object() ? m : empty;
}

/// `doc[key]` when it is an array, else an empty one.
const json& list_at(const json& doc, const char* key) {
    static const json empty = json::array();
    const json& m = member(doc, key);
    return m.is_array() ? m : empty;
}

/// PRETTY_NAME from an os-release file, "" when it has none.
std::string pretty_name(const char* path) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("PRETTY_NAME=", 0) != 0)
            continue;
        std::string value = line.substr(12);
        if (value.size() >= 2 && (value.front() == '"' || value.front() == '\''))
            value = value.substr(1, value.size() - 2);
        return value.substr(0, 128);
    }
    return {};
}

}  // namespace

HostFacts read_host_facts() {
    HostFacts facts;
    char name[256] = {};
    if (gethostname(name, sizeof name - 1) == 0)
        facts.hostname = name;
    struct utsname u {};
    if (uname(&u) == 0) {
        facts.kernel = u.release;
        facts.arch = u.machine;
        facts.os = u.sysname;
    }
    if (std::string pretty = pretty_name("/etc/os-release"); !pretty.empty())
        facts.os = pretty;
    return facts;
}

json gateway_metadata(const json& status, const HostFacts& host, const std::string& client_id) {
    json buses = json::array();
    for (const json& b : list_at(status, "buses"))
        buses.push_back(text_of(b, "name"));
    json meters = json::array();
    for (const json& m : list_at(status, "meters"))
        meters.push_back(text_of(m, "name"));
    return json{{"name", "kaa-gateway"},
                {"version", text_of(status, "version")},
                {"hostname", host.hostname},
                {"os", host.os},
                {"kernel", host.kernel},
                {"arch", host.arch},
                {"client_id", client_id},
                {"config", text_of(status, "config")},
                {"buses_configured", buses.size()},
                {"meters_configured", meters.size()},
                {"buses", std::move(buses)},
                {"meters", std::move(meters)}};
}

json HealthReporter::sample(const json& status) {
    const json& uplink = section(status, "uplink");
    const json& buffer = section(status, "buffer");
    const uint64_t generated = count_at(status, "generated_ms");
    const uint64_t started = count_at(status, "started_ms");
    json out{
        {"uptime_s", generated > started ? (generated - started) / 1000 : 0},
        {"connected", bool_of(uplink, "connected") ? 1 : 0},
        {"reconnects", count_at(uplink, "connects") > 0 ? count_at(uplink, "connects") - 1 : 0},
        {"in_flight", count_at(uplink, "in_flight")},
        {"samples_delivered", count_at(uplink, "samples_delivered")},
        {"samples_rejected", count_at(uplink, "samples_rejected")},
        {"backlog_samples", count_at(buffer, "samples")},
        {"backlog_bytes", count_at(buffer, "bytes")}};
    const uint64_t oldest = count_at(buffer, "oldest_ms");
    out["backlog_oldest_age_s"] =
        oldest > 0 && generated > oldest ? (generated - oldest) / 1000 : 0;
    out["samples_dropped"] =
        count_at(buffer, "dropped_overflow") + count_at(buffer, "lost_unstored");

    // Per bus: its meters' transactions added up, counted since the previous sample.
    std::map<std::string, BusCounts> now;
    uint64_t failing = 0;
    const json& meters = list_at(status, "meters");
    for (const json& m : meters) {
        const std::string state = text_of(m, "state");
        if (state == "failing")
            ++failing;
        const json& t = section(m, "transactions");
        BusCounts& c = now[text_of(m, "bus")];
        c.requests += count_at(t, "requests");
        c.errors += count_at(t, "timeouts") + count_at(t, "exceptions") +
                    count_at(t, "bad_frames") + count_at(t, "link_errors");
    }
    out["meters"] = meters.size();
    out["meters_failing"] = failing;
    for (const json& b : list_at(status, "buses")) {
        const std::string name = text_of(b, "name");
        const std::string prefix = "bus_" + name + "_";
        // Closed is a TCP bus between polls (close_after_poll): not a fault.
        const std::string state = text_of(b, "state");
        out[prefix + "up"] = state == "open" || state == "closed" ? 1 : 0;
        if (const auto u = b.find("utilisation_measured"); u != b.end() && u->is_number())
            out[prefix + "utilisation"] = u->get<double>();
        const BusCounts& c = now[name];
        const BusCounts before = last_.count(name) != 0 ? last_[name] : BusCounts{};
        // Counters restart with a bus worker (a reload): then the whole count is new.
        const uint64_t requests =
            c.requests >= before.requests ? c.requests - before.requests : c.requests;
        const uint64_t errors = c.errors >= before.errors ? c.errors - before.errors : c.errors;
        out[prefix + "requests"] = requests;
        out[prefix + "errors"] = errors;
        if (requests > 0)
            out[prefix + "error_rate"] =
                static_cast<double>(errors) / static_cast<double>(requests);
    }
    last_ = std::move(now);
    return out;
}

}  // namespace kaa::status
