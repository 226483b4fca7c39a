// The gateway's live state for `kaa-gateway status`: built on the main loop every second
// from the uplink, the store and the bus workers' health, served on the status socket.
#include <sys/stat.h>

#include <spdlog/spdlog.h>

#include "daemon/buffer/spill_store.hpp"
#include "daemon/gateway.hpp"
#include "daemon/kaa/uplink.hpp"
#include "daemon/status/http/status_http.hpp"
#include "daemon/status/status_render.hpp"
#include "daemon/status/status_socket.hpp"
#include "drivers/modbus/bus_budget.hpp"
#include "version.hpp"

namespace kaa {
namespace {

constexpr const char* kStatusComponent = "status";
/// How often the document is rebuilt: `kaa-gateway status` shows figures this old at most.
constexpr auto kStatusDocInterval = std::chrono::seconds(1);
/// The measured utilisation is taken over at least this long.
constexpr auto kUseWindow = std::chrono::seconds(10);

using nlohmann::json;

/// Bytes of a file, 0 when it is not there.
uint64_t file_bytes(const std::string& path) {
    struct stat st {};
    return stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

/// A wall time, or null for never (0).
json time_or_null(int64_t ms) {
    return ms > 0 ? json(ms) : json(nullptr);
}

json transactions_json(const modbus::TransactionCounts& t) {
    return json{{"requests", t.requests},     {"answered", t.answered},
                {"timeouts", t.timeouts},     {"exceptions", t.exceptions},
                {"bad_frames", t.bad_frames}, {"link_errors", t.link_errors}};
}

json values_json(const std::vector<Reading>& readings) {
    json out = json::object();
    for (const Reading& r : readings)
        std::visit([&](const auto& v) { out[r.name] = v; }, r.value);
    return out;
}

json meter_json(const config::MeterConfig& meter, const modbus::MeterHealth* health) {
    json m{{"name", meter.name}, {"bus", meter.bus}, {"unit", meter.unit}};
    if (health == nullptr) {
        m["state"] = "waiting";
        return m;
    }
    m["state"] = modbus::meter_state_name(health->state);
    m["failing_since_ms"] = time_or_null(health->failing_since_ms);
    m["backoff_until_ms"] = time_or_null(health->backoff_until_ms);
    m["last_good_ms"] = time_or_null(health->last_good_ms);
    m["polls"] = health->polls;
    m["polls_failed"] = health->polls_failed;
    m["last_error"] = health->last_error;
    m["transactions"] = transactions_json(health->transactions);
    m["values"] = values_json(health->last_values);
    return m;
}

}  // namespace

void Gateway::open_status_socket() {
    const std::string& path = config_->status.socket;
    if (path.empty())
        return;
    auto server = status::StatusServer::start(path);
    if (!server) {
        spdlog::warn(
            "{}: {}; `kaa-gateway status` cannot reach this daemon (polling and "
            "delivery go on)",
            kStatusComponent, server.error().message);
        return;
    }
    status_server_ = std::move(server.value());
    next_status_doc_ = clock_.now();
    spdlog::info("{}: serving the status on {}", kStatusComponent, path);
}

void Gateway::open_status_http() {
    const config::StatusConfig& status = config_->status;
    if (status.http_host.empty())
        return;
    auto server = status::StatusHttpServer::start(status.http_host, status.http_port);
    if (!server) {
        spdlog::error("{}: {}; the status page is not served (polling and delivery go on)",
                      kStatusComponent, server.error().message);
        return;
    }
    status_http_ = std::move(server.value());
    next_status_doc_ = clock_.now();
    const bool bracket = status.http_host.find(':') != std::string::npos;
    spdlog::info("{}: serving the status page on http://{}{}{}:{}/ (also /status.json, /metrics)",
                 kStatusComponent, bracket ? "[" : "", status.http_host, bracket ? "]" : "",
                 status.http_port);
}

bool Gateway::serving_status() const {
    return status_server_ != nullptr || status_http_ != nullptr;
}

void Gateway::serve_status() {
    if (!serving_status() || clock_.now() < next_status_doc_)
        return;
    next_status_doc_ = clock_.now() + kStatusDocInterval;
    auto doc = std::make_shared<const json>(status_document());
    if (status_server_)
        status_server_->publish(doc->dump(-1, ' ', false, json::error_handler_t::replace) + "\n");
    if (status_http_)
        status_http_->publish(std::move(doc));
}

json Gateway::status_document() {
    const config::GatewayConfig& config = *config_;
    const int64_t now_ms = clock_.wall_ms();
    const auto now = clock_.now();

    const auto& c = uplink_->counters();
    json uplink{{"broker", config.kaa.host + ":" + std::to_string(config.kaa.port)},
                {"connected", link_.connected},
                {"since_ms", time_or_null(link_.since_ms)},
                {"connects", link_.connects},
                {"last_disconnect", link_.last_disconnect},
                {"in_flight", uplink_->in_flight()},
                {"batches_published", c.batches_published},
                {"samples_delivered", c.samples_delivered},
                {"batches_resent", c.batches_resent},
                {"samples_rejected", c.samples_rejected},
                {"samples_held", c.samples_held},
                {"errors_received", c.errors_received},
                {"stray_replies", c.stray_replies},
                {"messages_dropped", messages_dropped_.load()}};
    const auto& last_error = uplink_->last_error();
    uplink["last_error"] = last_error.code == 0 ? json(nullptr)
                                                : json{{"code", last_error.code},
                                                       {"reason", last_error.reason},
                                                       {"meter", last_error.meter},
                                                       {"at_ms", last_error.at_ms}};

    const StoreStats stats = store_->stats();
    const auto oldest = store_->oldest_read_ms();
    json buffer{{"path", spill_ != nullptr ? config.buffer.path : std::string()},
                {"samples", stats.samples},
                {"bytes", stats.bytes},
                {"oldest_ms", oldest ? json(*oldest) : json(nullptr)},
                {"dropped_overflow", stats.dropped_overflow},
                {"lost_unstored", stats.lost_unstored},
                {"in_memory", spill_ != nullptr ? spill_->in_memory() : stats.samples},
                {"file_bytes", spill_ != nullptr ? file_bytes(config.buffer.path) +
                                                       file_bytes(config.buffer.path + "-wal")
                                                 : 0}};

    if (estimated_for_ != &config) {
        bus_estimate_.clear();
        for (const auto& bus : config.buses)
            bus_estimate_[bus.name] = modbus::estimate_bus_budget(config, bus).utilisation;
        estimated_for_ = &config;
    }
    std::map<size_t, modbus::MeterHealth> by_meter;
    json buses = json::array();
    for (auto& [name, health] : buses_.health()) {
        BusUse& use = bus_use_[name];
        if (use.at == Clock::Monotonic{}) {
            use = BusUse{health.busy_us, now, std::nullopt};
        } else if (now - use.at >= kUseWindow) {
            const double window =
                std::chrono::duration_cast<std::chrono::duration<double, std::micro>>(now - use.at)
                    .count();
            use.measured = static_cast<double>(health.busy_us - use.busy_us) / window;
            use.busy_us = health.busy_us;
            use.at = now;
        }
        const auto estimate = bus_estimate_.find(name);
        buses.push_back(
            json{{"name", name},
                 {"state", modbus::bus_state_name(health.state)},
                 {"last_error", health.last_error},
                 {"last_error_ms", time_or_null(health.last_error_ms)},
                 {"reopens", health.reopens},
                 {"jobs_run", health.jobs_run},
                 {"meters", health.meters.size()},
                 {"utilisation_estimated",
                  estimate != bus_estimate_.end() ? json(estimate->second) : json(nullptr)},
                 {"utilisation_measured", use.measured ? json(*use.measured) : json(nullptr)}});
        for (auto& m : health.meters)
            by_meter[m.meter_index] = std::move(m);
    }
    json meters = json::array();
    for (size_t i = 0; i < config.meters.size(); ++i) {
        if (i < active_.size() && !active_[i])
            continue;
        const auto h = by_meter.find(i);
        meters.push_back(meter_json(config.meters[i], h != by_meter.end() ? &h->second : nullptr));
    }
    json doc{{"schema", status::kStatusSchema}, {"version", KAA_GATEWAY_VERSION},
             {"generated_ms", now_ms},          {"started_ms", started_ms_},
             {"config", config.source_path},    {"uplink", std::move(uplink)},
             {"buffer", std::move(buffer)},     {"buses", std::move(buses)},
             {"meters", std::move(meters)}};
    doc["clock"] = clock_status();
    if (json own = own_endpoint_status(); !own.is_null())
        doc["gateway_endpoint"] = std::move(own);
    return doc;
}

}  // namespace kaa
