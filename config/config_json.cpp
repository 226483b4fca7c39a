// GatewayConfig and LoadResult <-> nlohmann::json. Decoding checks the type and range of
// every value before reading it, so a malformed document gives nullopt, never an exception.
#include "config/config_json.hpp"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace kaa::config {

// A field added to a configuration struct must also be added to its to_json and reader
// here, or it silently keeps its default in the daemon (isolated_loader carries the
// configuration through this file). These sizes, for the LP64 libstdc++ builds of CI and
// the Pi (x86_64, aarch64), make the compiler point at the struct that changed; a new
// field that fits in existing padding still goes unnoticed.
#if defined(__GLIBCXX__) && (defined(__x86_64__) || defined(__aarch64__))
static_assert(sizeof(Location) == 40, "Location changed: update config_json.cpp");
static_assert(sizeof(TlsConfig) == 96, "TlsConfig changed: update config_json.cpp");
static_assert(sizeof(AuthConfig) == 64, "AuthConfig changed: update config_json.cpp");
static_assert(sizeof(ReconnectConfig) == 16, "ReconnectConfig changed: update config_json.cpp");
static_assert(sizeof(TimestampField) == 40, "TimestampField changed: update config_json.cpp");
static_assert(sizeof(KaaConfig) == 376, "KaaConfig changed: update config_json.cpp");
static_assert(sizeof(BufferConfig) == 56, "BufferConfig changed: update config_json.cpp");
static_assert(sizeof(RtuLink) == 48, "RtuLink changed: update config_json.cpp");
static_assert(sizeof(TcpLink) == 40, "TcpLink changed: update config_json.cpp");
static_assert(sizeof(BusConfig) == 168, "BusConfig changed: update config_json.cpp");
static_assert(sizeof(RegisterConfig) == 128, "RegisterConfig changed: update config_json.cpp");
static_assert(sizeof(WritableConfig) == 168, "WritableConfig changed: update config_json.cpp");
static_assert(sizeof(MeterConfig) == 304, "MeterConfig changed: update config_json.cpp");
static_assert(sizeof(StatusConfig) == 72, "StatusConfig changed: update config_json.cpp");
static_assert(sizeof(ClockConfig) == 8, "ClockConfig changed: update config_json.cpp");
static_assert(sizeof(GatewayConfig) == 632, "GatewayConfig changed: update config_json.cpp");
static_assert(sizeof(ConfigError) == 72, "ConfigError changed: update config_json.cpp");
static_assert(sizeof(LoadResult) == 688, "LoadResult changed: update config_json.cpp");
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

// ---------------------------------------------------------------------------------------
// Decoding: every reader returns false when the value is missing, of the wrong type or out
// of range, and leaves the output unspecified then.

/// The value of key in obj, or nullptr when obj is not an object or has no such key.
const json* member(const json& obj, const char* key) {
    if (!obj.is_object()) {
        return nullptr;
    }
    const auto it = obj.find(key);
    return it == obj.end() ? nullptr : &*it;
}

/// A string value.
bool read(const json& obj, const char* key, std::string& out) {
    const json* v = member(obj, key);
    if (v == nullptr || !v->is_string()) {
        return false;
    }
    out = *v->get_ptr<const json::string_t*>();
    return true;
}

/// An integer value that fits T (JSON, CBOR and from_cbor may store it signed or unsigned).
template <typename T>
bool read_integer(const json& obj, const char* key, T& out) {
    const json* v = member(obj, key);
    if (v == nullptr) {
        return false;
    }
    if (const auto* u = v->get_ptr<const json::number_unsigned_t*>()) {
        if (!std::in_range<T>(*u)) {
            return false;
        }
        out = static_cast<T>(*u);
        return true;
    }
    if (const auto* i = v->get_ptr<const json::number_integer_t*>()) {
        if (!std::in_range<T>(*i)) {
            return false;
        }
        out = static_cast<T>(*i);
        return true;
    }
    return false;
}

/// A boolean value.
bool read(const json& obj, const char* key, bool& out) {
    const json* v = member(obj, key);
    if (v == nullptr || !v->is_boolean()) {
        return false;
    }
    out = v->get<bool>();
    return true;
}

/// An int value.
bool read(const json& obj, const char* key, int& out) {
    return read_integer(obj, key, out);
}

/// A uint16_t value.
bool read(const json& obj, const char* key, uint16_t& out) {
    return read_integer(obj, key, out);
}

/// A uint64_t value.
bool read(const json& obj, const char* key, uint64_t& out) {
    return read_integer(obj, key, out);
}

/// A duration written as integer milliseconds.
bool read(const json& obj, const char* key, Millis& out) {
    Millis::rep ms = 0;
    if (!read_integer(obj, key, ms)) {
        return false;
    }
    out = Millis{ms};
    return true;
}

/// A number (a double written by to_json stays a double through JSON and CBOR).
bool read(const json& obj, const char* key, double& out) {
    const json* v = member(obj, key);
    if (v == nullptr) {
        return false;
    }
    if (const auto* d = v->get_ptr<const json::number_float_t*>()) {
        out = *d;
        return true;
    }
    if (const auto* u = v->get_ptr<const json::number_unsigned_t*>()) {
        out = static_cast<double>(*u);
        return true;
    }
    if (const auto* i = v->get_ptr<const json::number_integer_t*>()) {
        out = static_cast<double>(*i);
        return true;
    }
    return false;
}

/// An enumeration written as its YAML word; E's values run from 0 to last.
template <typename E>
bool read_enum(const json& obj, const char* key, E last, E& out) {
    std::string word;
    if (!read(obj, key, word)) {
        return false;
    }
    for (int i = 0; i <= static_cast<int>(last); ++i) {
        if (word == to_string(static_cast<E>(i))) {
            out = static_cast<E>(i);
            return true;
        }
    }
    return false;
}

/// A Location object under key.
bool read(const json& obj, const char* key, Location& out) {
    const json* v = member(obj, key);
    return v != nullptr && read(*v, "file", out.file) && read(*v, "line", out.line) &&
           read(*v, "column", out.column);
}

/// A list of T under key, each item read by read_item.
template <typename T, typename ReadItem>
bool read_list(const json& obj, const char* key, std::vector<T>& out, ReadItem read_item) {
    const json* v = member(obj, key);
    if (v == nullptr || !v->is_array()) {
        return false;
    }
    out.clear();
    out.reserve(v->size());
    for (const auto& item : *v) {
        if (!read_item(item, out.emplace_back())) {
            return false;
        }
    }
    return true;
}

/// One register.
bool read_register(const json& obj, RegisterConfig& r) {
    return read(obj, "name", r.name) && read(obj, "address", r.address) &&
           read_enum(obj, "function", RegisterFunction::kInput, r.function) &&
           read_enum(obj, "type", ValueType::kString, r.type) &&
           read_enum(obj, "byte_order", ByteOrder::kDCBA, r.byte_order) &&
           read(obj, "scale", r.scale) && read(obj, "offset", r.offset) &&
           read(obj, "length", r.length) &&
           read_enum(obj, "report", ReportMode::kOnChange, r.report) &&
           read(obj, "deadband", r.deadband) && read(obj, "deadband_percent", r.deadband_percent) &&
           read(obj, "where", r.where);
}

/// kaa.tls: null (absent) or an object.
bool read(const json& obj, const char* key, std::optional<TlsConfig>& out) {
    const json* v = member(obj, key);
    if (v == nullptr) {
        return false;
    }
    if (v->is_null()) {
        out.reset();
        return true;
    }
    TlsConfig& tls = out.emplace();
    return read(*v, "ca_file", tls.ca_file) && read(*v, "cert_file", tls.cert_file) &&
           read(*v, "key_file", tls.key_file);
}

/// kaa.auth: null (absent) or an object.
bool read(const json& obj, const char* key, std::optional<AuthConfig>& out) {
    const json* v = member(obj, key);
    if (v == nullptr) {
        return false;
    }
    if (v->is_null()) {
        out.reset();
        return true;
    }
    AuthConfig& auth = out.emplace();
    return read(*v, "username", auth.username) && read(*v, "password_file", auth.password_file);
}

/// The kaa: section.
bool read(const json& obj, const char* key, KaaConfig& k) {
    const json* v = member(obj, key);
    if (v == nullptr) {
        return false;
    }
    const json* reconnect = member(*v, "reconnect");
    const json* timestamp = member(*v, "timestamp");
    return reconnect != nullptr && timestamp != nullptr &&
           read(*timestamp, "key", k.timestamp.key) &&
           read_enum(*timestamp, "format", TimestampFormat::kIso8601, k.timestamp.format) &&
           read(*v, "host", k.host) && read(*v, "port", k.port) &&
           read(*v, "app_version", k.app_version) && read(*v, "client_id", k.client_id) &&
           read(*v, "keepalive_ms", k.keepalive) && read(*v, "qos", k.qos) &&
           read_enum(*v, "delivery", Delivery::kNone, k.delivery) &&
           read(*v, "response_timeout_ms", k.response_timeout) &&
           read(*v, "max_in_flight", k.max_in_flight) && read(*v, "tls", k.tls) &&
           read(*v, "auth", k.auth) && read(*reconnect, "min_delay_ms", k.reconnect.min_delay) &&
           read(*reconnect, "max_delay_ms", k.reconnect.max_delay) &&
           read(*v, "remote_config", k.remote_config);
}

/// The buffer: section.
bool read(const json& obj, const char* key, BufferConfig& b) {
    const json* v = member(obj, key);
    return v != nullptr && read(*v, "path", b.path) &&
           read(*v, "max_size_bytes", b.max_size_bytes) &&
           read_enum(*v, "overflow", Overflow::kDropNewest, b.overflow) &&
           read(*v, "batch", b.batch) && read(*v, "batch_bytes", b.batch_bytes);
}

/// A bus link: exactly one of "rtu" and "tcp".
bool read_link(const json& obj, std::variant<RtuLink, TcpLink>& out) {
    const json* rtu = member(obj, "rtu");
    const json* tcp = member(obj, "tcp");
    if ((rtu == nullptr) == (tcp == nullptr)) {
        return false;
    }
    if (rtu != nullptr) {
        RtuLink& link = out.emplace<RtuLink>();
        return read(*rtu, "device", link.device) && read(*rtu, "baud", link.baud) &&
               read_enum(*rtu, "parity", Parity::kOdd, link.parity) &&
               read(*rtu, "data_bits", link.data_bits) && read(*rtu, "stop_bits", link.stop_bits);
    }
    TcpLink& link = out.emplace<TcpLink>();
    return read(*tcp, "host", link.host) && read(*tcp, "port", link.port);
}

/// One bus.
bool read_bus(const json& obj, BusConfig& bus) {
    return read(obj, "name", bus.name) && read_link(obj, bus.link) &&
           read(obj, "timeout_ms", bus.timeout) && read(obj, "retries", bus.retries) &&
           read(obj, "inter_request_delay_ms", bus.inter_request_delay) &&
           read(obj, "pause_after_connect_ms", bus.pause_after_connect) &&
           read(obj, "close_after_poll", bus.close_after_poll) && read(obj, "where", bus.where);
}

/// A bound of a writable register: a number, or null for none.
bool read_bound(const json& obj, const char* key, std::optional<double>& out) {
    const json* v = member(obj, key);
    if (v == nullptr || (!v->is_null() && !v->is_number()))
        return false;
    out = v->is_null() ? std::nullopt : std::optional<double>(v->get<double>());
    return true;
}

/// One writable register.
bool read_writable(const json& obj, WritableConfig& w) {
    const json* reg = member(obj, "register");
    return reg != nullptr && reg->is_object() && read_register(*reg, w.reg) &&
           read_bound(obj, "min", w.min) && read_bound(obj, "max", w.max) &&
           read(obj, "write_multiple", w.write_multiple);
}

/// One meter.
bool read_meter(const json& obj, MeterConfig& m) {
    const json* metadata = member(obj, "metadata");
    if (metadata == nullptr) {
        return false;
    }
    m.metadata = *metadata;
    return read(obj, "name", m.name) && read(obj, "token", m.token) && read(obj, "bus", m.bus) &&
           read(obj, "unit", m.unit) && read(obj, "poll_interval_ms", m.poll_interval) &&
           read_list(obj, "metadata_registers", m.metadata_registers, read_register) &&
           read_list(obj, "registers", m.registers, read_register) &&
           read_list(obj, "writable", m.writable, read_writable) &&
           read(obj, "max_gap", m.max_gap) && read(obj, "max_registers", m.max_registers) &&
           read(obj, "metadata_interval_ms", m.metadata_interval) &&
           read_enum(obj, "report", ReportMode::kOnChange, m.report) &&
           read(obj, "heartbeat_ms", m.heartbeat) && read(obj, "profile", m.profile) &&
           read(obj, "where", m.where);
}

/// One error or warning.
bool read_message(const json& obj, ConfigError& e) {
    return read(obj, "file", e.where.file) && read(obj, "line", e.where.line) &&
           read(obj, "column", e.where.column) && read(obj, "message", e.message);
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

std::optional<GatewayConfig> gateway_config_from_json(const nlohmann::json& doc) {
    GatewayConfig config;
    if (read(doc, "source_path", config.source_path) && read(doc, "kaa", config.kaa) &&
        read(doc, "buffer", config.buffer) && member(doc, "gateway") != nullptr &&
        read(*member(doc, "gateway"), "token", config.gateway.token) &&
        read(*member(doc, "gateway"), "health_interval_ms", config.gateway.health_interval) &&
        member(doc, "status") != nullptr &&
        read(*member(doc, "status"), "socket", config.status.socket) &&
        read(*member(doc, "status"), "http_host", config.status.http_host) &&
        read(*member(doc, "status"), "http_port", config.status.http_port) &&
        member(doc, "clock") != nullptr &&
        read(*member(doc, "clock"), "max_unsynced_ms", config.clock.max_unsynced) &&
        read_list(doc, "buses", config.buses, read_bus) &&
        read_list(doc, "meters", config.meters, read_meter)) {
        return config;
    }
    return std::nullopt;
}

std::optional<MeterConfig> meter_config_from_json(const nlohmann::json& doc) {
    MeterConfig meter;
    if (read_meter(doc, meter)) {
        return meter;
    }
    return std::nullopt;
}

nlohmann::json to_json(const LoadResult& result) {
    return json::object({{"config", result.config ? to_json(*result.config) : json(nullptr)},
                         {"errors", messages_json(result.errors)},
                         {"warnings", messages_json(result.warnings)}});
}

std::optional<LoadResult> load_result_from_json(const nlohmann::json& doc) {
    LoadResult result;
    const json* config = member(doc, "config");
    if (config == nullptr || !read_list(doc, "errors", result.errors, read_message) ||
        !read_list(doc, "warnings", result.warnings, read_message)) {
        return std::nullopt;
    }
    if (!config->is_null()) {
        result.config = gateway_config_from_json(*config);
        if (!result.config) {
            return std::nullopt;
        }
    }
    return result;
}

}  // namespace kaa::config
