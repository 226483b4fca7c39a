// GatewayConfig and LoadResult -> nlohmann::json (the decoding is config_json_read.cpp).
#include "config/config_json.hpp"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace kaa::config {

// A field added to a configuration struct must also be added to its to_json here and its
// reader in config_json_read.cpp, or it silently keeps its default in the daemon (isolated_loader
// carries the configuration through this file). These sizes, for the LP64 libstdc++ builds of CI
// and the Pi (x86_64, aarch64), make the compiler point at the struct that changed; a new field
// that fits in existing padding still goes unnoticed.
#if defined(__GLIBCXX__) && (defined(__x86_64__) || defined(__aarch64__))
static_assert(sizeof(Location) == 40, "Location changed: update config_json.cpp");
static_assert(sizeof(TlsConfig) == 96, "TlsConfig changed: update config_json.cpp");
static_assert(sizeof(AuthConfig) == 64, "AuthConfig changed: update config_json.cpp");
static_assert(sizeof(ReconnectConfig) == 16, "ReconnectConfig changed: update config_json.cpp");
static_assert(sizeof(TimestampField) == 40, "TimestampField changed: update config_json.cpp");
static_assert(sizeof(KaaConfig) == 384, "KaaConfig changed: update config_json.cpp");
static_assert(sizeof(BufferConfig) == 56, "BufferConfig changed: update config_json.cpp");
static_assert(sizeof(RtuLink) == 48, "RtuLink changed: update config_json.cpp");
static_assert(sizeof(TcpLink) == 40, "TcpLink changed: update config_json.cpp");
static_assert(sizeof(BusConfig) == 168, "BusConfig changed: update config_json.cpp");
static_assert(sizeof(RegisterConfig) == 128, "RegisterConfig changed: update config_json.cpp");
static_assert(sizeof(WritableConfig) == 168, "WritableConfig changed: update config_json.cpp");
static_assert(sizeof(MeterConfig) == 304, "MeterConfig changed: update config_json.cpp");
static_assert(sizeof(StatusConfig) == 72, "StatusConfig changed: update config_json.cpp");
static_assert(sizeof(ClockConfig) == 8, "ClockConfig changed: update config_json.cpp");
static_assert(sizeof(GatewayConfig) == 640, "GatewayConfig changed: update config_json.cpp");
static_assert(sizeof(ConfigError) == 72, "ConfigError changed: update config_json.cpp");
static_assert(sizeof(LoadResult) == 696, "LoadResult changed: update config_json.cpp");
#endif

namespace {

using nlohmann::json;

// ---------------------------------------------------------------------------------------
// Encoding

/// {"file", "line", "column"}.
json location_json(const Location& where) {
    return json::object({{"file", where.file}, {"line", where.line}, {"column", where.column}});
}

/// One register and its decoding.
json register_json(const RegisterConfig& r) {
    return json::object({{"name", r.name},
                         {"address", r.address},
                         {"function", to_string(r.function)},
                         {"type", to_string(r.type)},
                         {"byte_order", to_string(r.byte_order)},
                         {"scale", r.scale},
                         {"offset", r.offset},
                         {"length", r.length},
                         {"report", to_string(r.report)},
                         {"deadband", r.deadband},
                         {"deadband_percent", r.deadband_percent},
                         {"where", location_json(r.where)}});
}

/// One writable register: the register, its range (null when open) and write function.
json writable_json(const WritableConfig& w) {
    return json::object({{"register", register_json(w.reg)},
                         {"min", w.min ? json(*w.min) : json(nullptr)},
                         {"max", w.max ? json(*w.max) : json(nullptr)},
                         {"write_multiple", w.write_multiple}});
}

/// A list of registers, in order.
json registers_json(const std::vector<RegisterConfig>& registers) {
    json out = json::array();
    for (const auto& r : registers) {
        out.push_back(register_json(r));
    }
    return out;
}

/// The kaa: section; tls and auth are null when absent.
json kaa_json(const KaaConfig& k) {
    json tls = nullptr;
    if (k.tls) {
        tls = json::object({{"ca_file", k.tls->ca_file},
                            {"cert_file", k.tls->cert_file},
                            {"key_file", k.tls->key_file}});
    }
    json auth = nullptr;
    if (k.auth) {
        auth = json::object(
            {{"username", k.auth->username}, {"password_file", k.auth->password_file}});
    }
    return json::object(
        {{"host", k.host},
         {"port", k.port},
         {"app_version", k.app_version},
         {"client_id", k.client_id},
         {"keepalive_ms", k.keepalive.count()},
         {"qos", k.qos},
         {"delivery", to_string(k.delivery)},
         {"response_timeout_ms", k.response_timeout.count()},
         {"max_in_flight", k.max_in_flight},
         {"live_window_ms", k.live_window.count()},
         {"tls", std::move(tls)},
         {"auth", std::move(auth)},
         {"reconnect", json::object({{"min_delay_ms", k.reconnect.min_delay.count()},
                                     {"max_delay_ms", k.reconnect.max_delay.count()}})},
         {"timestamp",
          json::object({{"key", k.timestamp.key}, {"format", to_string(k.timestamp.format)}})},
         {"remote_config", k.remote_config}});
}

/// The buffer: section.
json buffer_json(const BufferConfig& b) {
    return json::object({{"path", b.path},
                         {"max_size_bytes", b.max_size_bytes},
                         {"overflow", to_string(b.overflow)},
                         {"batch", b.batch},
                         {"batch_bytes", b.batch_bytes}});
}

/// One bus; its link is written under "rtu" or "tcp".
json bus_json(const BusConfig& bus) {
    json out = json::object({{"name", bus.name},
                             {"timeout_ms", bus.timeout.count()},
                             {"retries", bus.retries},
                             {"inter_request_delay_ms", bus.inter_request_delay.count()},
                             {"pause_after_connect_ms", bus.pause_after_connect.count()},
                             {"close_after_poll", bus.close_after_poll},
                             {"where", location_json(bus.where)}});
    if (const auto* rtu = std::get_if<RtuLink>(&bus.link)) {
        out["rtu"] = json::object({{"device", rtu->device},
                                   {"baud", rtu->baud},
                                   {"parity", to_string(rtu->parity)},
                                   {"data_bits", rtu->data_bits},
                                   {"stop_bits", rtu->stop_bits}});
    } else if (const auto* tcp = std::get_if<TcpLink>(&bus.link)) {
        out["tcp"] = json::object({{"host", tcp->host}, {"port", tcp->port}});
    }
    return out;
}

/// A list of errors or warnings: {"file", "line", "column", "message"} each.
json messages_json(const std::vector<ConfigError>& list) {
    json out = json::array();
    for (const auto& e : list) {
        out.push_back(json::object({{"file", e.where.file},
                                    {"line", e.where.line},
                                    {"column", e.where.column},
                                    {"message", e.message}}));
    }
    return out;
}

}  // namespace

nlohmann::json to_json(const MeterConfig& m) {
    json writables = json::array();
    for (const auto& w : m.writable)
        writables.push_back(writable_json(w));
    return json::object({{"name", m.name},
                         {"token", m.token},
                         {"bus", m.bus},
                         {"unit", m.unit},
                         {"poll_interval_ms", m.poll_interval.count()},
                         {"metadata", m.metadata},
                         {"metadata_registers", registers_json(m.metadata_registers)},
                         {"registers", registers_json(m.registers)},
                         {"writable", writables},
                         {"max_gap", m.max_gap},
                         {"max_registers", m.max_registers},
                         {"metadata_interval_ms", m.metadata_interval.count()},
                         {"report", to_string(m.report)},
                         {"heartbeat_ms", m.heartbeat.count()},
                         {"profile", m.profile},
                         {"where", location_json(m.where)}});
}

nlohmann::json to_json(const GatewayConfig& config) {
    json buses = json::array();
    for (const auto& bus : config.buses) {
        buses.push_back(bus_json(bus));
    }
    json meters = json::array();
    for (const auto& meter : config.meters) {
        meters.push_back(to_json(meter));
    }
    return json::object(
        {{"source_path", config.source_path},
         {"kaa", kaa_json(config.kaa)},
         {"buffer", buffer_json(config.buffer)},
         {"gateway",
          json::object({{"token", config.gateway.token},
                        {"health_interval_ms", config.gateway.health_interval.count()}})},
         {"status", json::object({{"socket", config.status.socket},
                                  {"http_host", config.status.http_host},
                                  {"http_port", config.status.http_port}})},
         {"clock", json::object({{"max_unsynced_ms", config.clock.max_unsynced.count()}})},
         {"buses", std::move(buses)},
         {"meters", std::move(meters)}});
}

nlohmann::json to_json(const LoadResult& result) {
    return json::object({{"config", result.config ? to_json(*result.config) : json(nullptr)},
                         {"errors", messages_json(result.errors)},
                         {"warnings", messages_json(result.warnings)}});
}

}  // namespace kaa::config
