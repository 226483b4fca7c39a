// The gateway configuration loader: the top level, kaa: and buffer: sections, and the
// boundary that turns yaml-cpp exceptions into errors.
#include "config/config_loader.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "config/credential_sections.hpp"
#include "config/file_checks.hpp"
#include "config/machine_id.hpp"
#include "config/meter_sections.hpp"
#include "config/units.hpp"
#include "config/yaml_reader.hpp"

namespace kaa::config {

namespace {

const std::vector<std::pair<std::string, Delivery>> kDeliveryNames = {
    {"status", Delivery::kStatus}, {"puback", Delivery::kPuback}, {"none", Delivery::kNone}};

const std::vector<std::pair<std::string, Overflow>> kOverflowNames = {
    {"drop-oldest", Overflow::kDropOldest}, {"drop-newest", Overflow::kDropNewest}};

constexpr Millis kMinKeepalive{5'000};
constexpr Millis kMaxKeepalive{65'535'000};
constexpr uint64_t kMinBufferSize = 1024 * 1024;
constexpr uint64_t kMinBatchBytes = 4 * 1024;
constexpr uint64_t kMaxBatchBytes = 16 * 1024 * 1024;

/// True for a Kaa application version name: [a-z0-9_-]+.
bool matches_app_version(const std::string& s) {
    for (char c : s) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
        if (!ok) {
            return false;
        }
    }
    return !s.empty();
}

/// A duration that must be greater than zero.
std::optional<Millis> positive_duration(const MapReader& r, const char* key) {
    auto v = r.duration(key);
    if (v && v->count() <= 0) {
        r.fail(key, "must be greater than 0");
        return std::nullopt;
    }
    return v;
}

/// Reads kaa.reconnect: the backoff bounds.
ReconnectConfig read_reconnect(const MapReader& k) {
    ReconnectConfig rc;
    if (!k.has("reconnect")) {
        return rc;
    }
    MapReader r(k.diag(), k.get("reconnect"), "kaa.reconnect", {"min_delay", "max_delay"},
                k.key_where("reconnect"));
    auto min = positive_duration(r, "min_delay");
    auto max = positive_duration(r, "max_delay");
    rc.min_delay = min.value_or(rc.min_delay);
    rc.max_delay = max.value_or(rc.max_delay);
    if (rc.min_delay > rc.max_delay) {
        std::string min_text = format_duration(rc.min_delay);
        std::string max_text = format_duration(rc.max_delay);
        if (min) {
            r.fail("min_delay", min_text + " must not be greater than max_delay " + max_text);
        } else {
            r.fail("max_delay", max_text + " must not be smaller than min_delay " + min_text);
        }
    }
    return rc;
}

/// Reads host, app_version, client_id and keepalive of the kaa: section.
void read_kaa_connection(const MapReader& k, KaaConfig& kaa) {
    if (auto v = k.string("host", Need::kRequired)) {
        kaa.host = *v;
    }
    if (auto v = k.string("app_version", Need::kRequired)) {
        if (matches_app_version(*v)) {
            kaa.app_version = *v;
        } else {
            k.fail("app_version", "'" + *v + "' may contain only a-z, 0-9, '_' and '-'");
        }
    }
    kaa.client_id = default_client_id();  // config/machine_id.hpp
    if (auto v = k.string("client_id")) {
        if (v->find_first_of("+#") != std::string::npos) {
            k.fail("client_id", "'" + *v + "' must not contain + or #");
        } else {
            kaa.client_id = *v;
        }
    }
    if (auto v = k.duration("keepalive")) {
        if (*v < kMinKeepalive || *v > kMaxKeepalive) {
            k.fail("keepalive",
                   "must be between 5s and 65535s, got " + k.get("keepalive").Scalar());
        } else {
            kaa.keepalive = *v;
        }
    }
}

/// Reads qos, delivery, response_timeout, max_in_flight and live_window of the kaa: section.
void read_kaa_delivery(const MapReader& k, KaaConfig& kaa) {
    if (auto v = k.integer("qos", std::numeric_limits<int64_t>::min(),
                           std::numeric_limits<int64_t>::max())) {
        if (*v != 0 && *v != 1) {
            k.fail("qos", "must be 0 or 1, got " + k.get("qos").Scalar());
        } else {
            kaa.qos = static_cast<int>(*v);
        }
    }
    if (auto v = k.choice("delivery", kDeliveryNames)) {
        kaa.delivery = *v;
        if (*v == Delivery::kPuback && kaa.qos == 0) {
            k.fail("delivery", "puback needs qos 1: with qos 0 the broker sends no PUBACK");
        }
    }
    if (auto v = positive_duration(k, "response_timeout")) {
        kaa.response_timeout = *v;
    }
    if (auto v = k.integer("max_in_flight", 1, 1000)) {
        kaa.max_in_flight = static_cast<int>(*v);
    }
    if (auto v = k.duration("live_window")) {
        if (*v > Millis(60000)) {
            k.fail("live_window",
                   "must be at most 1min (readings would wait longer than the "
                   "dashboard's patience), got " +
                       format_duration(*v));
        } else {
            kaa.live_window = *v;
        }
    }
}

/// Reads kaa.timestamp: {key, format}, the field that carries each sample's read time.
TimestampField read_timestamp(const MapReader& k) {
    TimestampField field;
    if (!k.has("timestamp")) {
        return field;
    }
    MapReader t(k.diag(), k.get("timestamp"), "kaa.timestamp", {"key", "format"},
                k.key_where("timestamp"));
    if (!t.is_map()) {
        return field;
    }
    if (auto v = t.string("key")) {
        if (!is_sample_key(*v)) {
            t.fail("key", "'" + *v +
                              "' must be a sample key: letters, digits, '_' and '-', not "
                              "purely numeric");
        } else {
            field.key = *v;
        }
    }
    if (auto v = t.string("format")) {
        if (auto f = parse_timestamp_format(*v)) {
            field.format = *f;
        } else {
            t.fail("format",
                   "'" + *v + "' is not a timestamp format; use millis, seconds or iso8601");
        }
    }
    return field;
}

/// Reads the kaa: section; the port defaults by the presence of tls:. `remote_config_where`
/// receives where kaa.remote_config is written.
KaaConfig read_kaa(const MapReader& top, const LoadOptions& options,
                   Location& remote_config_where) {
    KaaConfig kaa;
    MapReader k(top.diag(), top.get("kaa"), "kaa",
                {"host", "port", "app_version", "client_id", "keepalive", "qos", "delivery",
                 "response_timeout", "max_in_flight", "live_window", "tls", "auth", "reconnect",
                 "timestamp", "remote_config"},
                top.key_where("kaa"));
    read_kaa_connection(k, kaa);
    read_kaa_delivery(k, kaa);
    kaa.tls = read_tls(k, options);
    kaa.auth = read_auth(k, options);
    kaa.reconnect = read_reconnect(k);
    kaa.timestamp = read_timestamp(k);
    if (auto v = k.boolean("remote_config"))
        kaa.remote_config = *v;
    remote_config_where = k.value_where("remote_config");
    auto port = k.integer("port", 1, 65535);
    kaa.port = port ? static_cast<int>(*port) : (kaa.tls ? 8883 : 1883);
    if (port && *port == 8883 && !kaa.tls) {
        k.warn("port", "8883 is the TLS port; add a tls: section or use 1883");
    } else if (port && *port == 1883 && kaa.tls) {
        k.warn("port",
               "1883 is the plain MQTT port but tls: is configured; use 8883 or "
               "remove the tls: section");
    }
    return kaa;
}

/// Reads the optional buffer: section.
BufferConfig read_buffer(const MapReader& top) {
    BufferConfig buffer;
    if (!top.has("buffer")) {
        return buffer;
    }
    MapReader b(top.diag(), top.get("buffer"), "buffer",
                {"path", "max_size", "overflow", "batch", "batch_bytes"}, top.key_where("buffer"));
    if (auto v = b.string("path")) {
        buffer.path = *v;
    }
    if (auto v = b.size("max_size")) {
        if (*v < kMinBufferSize) {
            b.fail("max_size", "must be at least 1MiB, got " + b.get("max_size").Scalar());
        } else {
            buffer.max_size_bytes = *v;
        }
    }
    if (auto v = b.choice("overflow", kOverflowNames)) {
        buffer.overflow = *v;
    }
    if (auto v = b.integer("batch", 1, 10000)) {
        buffer.batch = static_cast<int>(*v);
    }
    if (auto v = b.size("batch_bytes")) {
        if (*v < kMinBatchBytes || *v > kMaxBatchBytes) {
            b.fail("batch_bytes",
                   "must be between 4KiB and 16MiB, got " + b.get("batch_bytes").Scalar());
        } else {
            buffer.batch_bytes = *v;
        }
    }
    return buffer;
}

/// Reads the optional gateway: section; its token must differ from every meter's.
GatewayEndpointConfig read_gateway_endpoint(const MapReader& top, const GatewayConfig& config) {
    GatewayEndpointConfig gateway;
    if (top.has("gateway")) {
        MapReader g(top.diag(), top.get("gateway"), "gateway", {"token", "health_interval"},
                    top.key_where("gateway"));
        if (auto v = g.string("token")) {
            if (v->empty() || v->find_first_of("+#/.") != std::string::npos) {
                g.fail("token", "'" + *v +
                                    "' must be non-empty without + # / . characters (Kaa "
                                    "endpoint token)");
            } else if (auto m = std::find_if(config.meters.begin(), config.meters.end(),
                                             [&](const auto& meter) { return meter.token == *v; });
                       m != config.meters.end()) {
                g.fail("token", "'" + *v + "' is already the token of meter '" + m->name +
                                    "': the gateway needs an endpoint of its own");
            } else {
                gateway.token = *v;
            }
        }
        if (auto v = g.duration("health_interval")) {
            if (*v < std::chrono::seconds(1) || *v > std::chrono::hours(24))
                g.fail("health_interval", "must be between 1s and 24h, got " + format_duration(*v));
            else
                gateway.health_interval = *v;
        }
    }
    return gateway;
}

/// "127.0.0.1:9464" or "[::1]:9464": a numeric address (no name lookups at start) and a
/// port 1..65535.
bool parse_http_listen(const std::string& text, std::string& host, uint16_t& port) {
    const size_t colon = text.rfind(':');
    if (colon == std::string::npos || colon + 1 >= text.size() || colon == 0)
        return false;
    std::string address = text.substr(0, colon);
    if (address.front() == '[') {
        if (address.size() < 3 || address.back() != ']')
            return false;
        address = address.substr(1, address.size() - 2);
        in6_addr a6{};
        if (inet_pton(AF_INET6, address.c_str(), &a6) != 1)
            return false;
    } else {
        in_addr a4{};
        if (inet_pton(AF_INET, address.c_str(), &a4) != 1)
            return false;
    }
    const std::string digits = text.substr(colon + 1);
    if (digits.size() > 5 || digits.find_first_not_of("0123456789") != std::string::npos)
        return false;
    const long value = std::strtol(digits.c_str(), nullptr, 10);
    if (value < 1 || value > 65535)
        return false;
    host = address;
    port = static_cast<uint16_t>(value);
    return true;
}

/// Reads the optional status: section.
StatusConfig read_status(const MapReader& top) {
    StatusConfig status;
    if (!top.has("status"))
        return status;
    MapReader s(top.diag(), top.get("status"), "status", {"socket", "http"},
                top.key_where("status"));
    if (auto v = s.string("socket")) {
        // sockaddr_un holds 108 bytes with the terminating NUL.
        constexpr size_t kMaxSocketPath = 107;
        if (*v == "off") {
            status.socket.clear();
        } else if (v->size() > kMaxSocketPath) {
            s.fail("socket", "is " + std::to_string(v->size()) + " bytes long; a unix socket's " +
                                 "path has at most " + std::to_string(kMaxSocketPath));
        } else if ((*v)[0] != '/') {
            s.fail("socket", "must be an absolute path (or off), got '" + *v + "'");
        } else {
            status.socket = *v;
        }
    }
    if (auto v = s.string("http")) {
        if (*v != "off" && !parse_http_listen(*v, status.http_host, status.http_port)) {
            s.fail("http",
                   "must be ADDRESS:PORT with a numeric address, such as 127.0.0.1:9464 "
                   "or [::1]:9464 (or off), got '" +
                       *v + "'");
        }
    }
    return status;
}

/// Reads the optional clock: section.
ClockConfig read_clock(const MapReader& top) {
    ClockConfig clock;
    if (!top.has("clock"))
        return clock;
    MapReader c(top.diag(), top.get("clock"), "clock", {"max_unsynced"}, top.key_where("clock"));
    if (auto v = c.duration("max_unsynced")) {
        if (*v > std::chrono::hours(24))
            c.fail("max_unsynced",
                   "must be at most 24h (0s: never wait), got " + format_duration(*v));
        else
            clock.max_unsynced = *v;
    }
    return clock;
}

/// Reads the whole document; buses come before meters, which refer to them.
GatewayConfig read_gateway(Diagnostics& diag, const YAML::Node& root, const LoadOptions& options) {
    GatewayConfig config;
    config.source_path = diag.file();
    MapReader top(diag, root, "",
                  {"kaa", "buffer", "gateway", "status", "clock", "buses", "meters"},
                  Location{diag.file(), 1, 1});
    if (!top.is_map()) {
        return config;
    }
    Location remote_config_where{diag.file(), 1, 1};
    if (top.require("kaa")) {
        config.kaa = read_kaa(top, options, remote_config_where);
    }
    config.buffer = read_buffer(top);
    config.buses = read_buses(top);
    config.meters = read_meters(top, config.buses, config.kaa.timestamp.key, options.profile_dirs);
    config.gateway = read_gateway_endpoint(top, config);
    config.status = read_status(top);
    config.clock = read_clock(top);
    if (config.kaa.remote_config && config.gateway.token.empty()) {
        diag.error(remote_config_where,
                   "kaa: remote_config needs gateway.token: the gateway's own endpoint is the one "
                   "that receives its configuration");
    }
    bool meters_unreadable =
        top.has("meters") && !top.get("meters").IsNull() && !top.get("meters").IsSequence();
    if (config.meters.empty() && !meters_unreadable) {
        diag.warning(top.value_where("meters"), "no meters configured");
    }
    return config;
}

/// The result: the configuration only when no error was recorded.
LoadResult finish(const Diagnostics& diag, std::optional<GatewayConfig> config) {
    LoadResult result;
    result.errors = diag.errors();
    result.warnings = diag.warnings();
    if (result.errors.empty()) {
        result.config = std::move(config);
    }
    return result;
}

}  // namespace

LoadResult load_gateway_config_text(const std::string& yaml_text, const std::string& file_name,
                                    const LoadOptions& options) {
    Diagnostics diag(file_name);
    std::optional<GatewayConfig> config;
    try {
        if (auto root = parse_yaml(diag, yaml_text)) {
            config = read_gateway(diag, *root, options);
        }
    } catch (const std::exception& e) {
        diag.error(Location{file_name, 0, 0},
                   std::string("internal error while reading the configuration: ") + e.what());
    }
    return finish(diag, std::move(config));
}

LoadResult load_gateway_config(const std::string& path, const LoadOptions& options) {
    Diagnostics diag(path);
    const std::optional<std::string> text = read_config_file(diag, path);
    if (!text) {
        return finish(diag, std::nullopt);
    }
    return load_gateway_config_text(*text, path, options);
}

}  // namespace kaa::config
