// JSON -> GatewayConfig and LoadResult (the encoding is config_json.cpp). Every reader
// checks the type and range of each value before reading it and returns false when it is
// missing, of the wrong type or out of range, so a malformed document gives nullopt, never
// an exception.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "config/config_json.hpp"

namespace kaa::config {
namespace {

using nlohmann::json;

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
           read(*v, "max_in_flight", k.max_in_flight) &&
           read(*v, "live_window_ms", k.live_window) && read(*v, "tls", k.tls) &&
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
