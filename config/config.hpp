#pragma once
// The gateway's typed configuration: what config_loader produces from the YAML
// file, after validation. Field meanings are those of shared/gateway.reference.yaml.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/timestamp_format.hpp"

namespace kaa::config {

using Millis = std::chrono::milliseconds;

/// Where something was written in the config file, for messages that point back to it.
struct Location {
    std::string file;
    int line = 0;    // 1-based
    int column = 0;  // 1-based
};

/// When a publish counts as delivered (kaa.delivery).
enum class Delivery { kStatus, kPuback, kNone };
/// What to drop when the buffer is full (buffer.overflow).
enum class Overflow { kDropOldest, kDropNewest };
/// Serial parity.
enum class Parity { kNone, kEven, kOdd };
/// The Modbus table a register lives in; selects function code 1, 2, 3 or 4.
enum class RegisterFunction { kCoil, kDiscrete, kHolding, kInput };
/// How the raw bits of a register are interpreted.
enum class ValueType {
    kBool,
    kInt16,
    kUint16,
    kInt32,
    kUint32,
    kInt64,
    kUint64,
    kFloat32,
    kFloat64,
    kString
};
/// Word and byte order of multi-byte values (Telegraf's vocabulary).
/// ABCD: big-endian words, big-endian bytes.   CDAB: little-endian words, big-endian bytes.
/// BADC: big-endian words, swapped bytes.      DCBA: little-endian words, swapped bytes.
enum class ByteOrder { kABCD, kCDAB, kBADC, kDCBA };

/// kaa.tls: present means TLS on.
struct TlsConfig {
    std::string ca_file;
    std::string cert_file;  // optional: X.509 client authentication
    std::string key_file;
};

/// kaa.auth: MQTT basic credentials; the password is read from a file, never logged.
struct AuthConfig {
    std::string username;
    std::string password_file;
};

/// kaa.reconnect: exponential backoff with full jitter.
struct ReconnectConfig {
    Millis min_delay{1000};
    Millis max_delay{60000};
};

/// The kaa: section: how to reach the Kaa platform.
struct KaaConfig {
    std::string host = "127.0.0.1";
    int port = 1883;
    std::string app_version;
    std::string client_id;  // default: "kaa-gw-<12 hex digits of /etc/machine-id>"
    Millis keepalive{60000};
    int qos = 1;
    Delivery delivery = Delivery::kStatus;
    Millis response_timeout{30000};
    int max_in_flight = 16;  // sample batches awaiting confirmation at once (1..1000)
    // How long a meter's newest readings may wait to go out together (0: each poll's
    // readings at once). 1s with polls every 100 ms: one request per 10 readings.
    Millis live_window{0};
    std::optional<TlsConfig> tls;
    std::optional<AuthConfig> auth;
    ReconnectConfig reconnect;
    TimestampField timestamp;    // the sample field that carries the read time
    bool remote_config = false;  // accept configuration pushed over 7/CMP to gateway.token
};

/// The gateway: section: the gateway as a Kaa endpoint of its own (optional).
struct GatewayEndpointConfig {
    std::string token;  // empty: the gateway has no endpoint of its own
    Millis health_interval{60000};
};

/// The clock: section: how long readings wait for the system clock to be synchronised.
struct ClockConfig {
    Millis max_unsynced{600000};  // 0: never wait (send with the local time at once)
};

/// The status: section: where the daemon serves its live state to `kaa-gateway status`.
struct StatusConfig {
    std::string socket = "/run/kaa-gateway/status.sock";  // empty: no socket (`socket: off`)
    // status.http: the read-only page, /status.json and /metrics; empty host: off (default).
    std::string http_host;  // an IPv4 or IPv6 address as written (loopback unless written)
    uint16_t http_port = 0;
};

/// The buffer: section: where samples wait until Kaa confirms them.
struct BufferConfig {
    std::string path = "/var/lib/kaa-gateway/buffer.db";
    uint64_t max_size_bytes = 256ull * 1024 * 1024;
    Overflow overflow = Overflow::kDropOldest;
    int batch = 500;
    uint64_t batch_bytes = 256 * 1024;  // no DCX or EPMP publish is larger
};

/// A serial RS-485 line.
struct RtuLink {
    std::string device;
    int baud = 9600;
    Parity parity = Parity::kNone;
    int data_bits = 8;
    int stop_bits = 1;
};

/// A Modbus TCP endpoint.
struct TcpLink {
    std::string host;
    int port = 502;
};

/// One bus: one worker thread owns it; its requests never overlap.
struct BusConfig {
    std::string name;
    std::variant<RtuLink, TcpLink> link;
    Millis timeout{500};
    int retries = 1;
    Millis inter_request_delay{0};  // default 20ms on RTU, 0 on TCP
    Millis pause_after_connect{0};  // TCP: silence after connecting, before the first request
    bool close_after_poll = false;  // TCP: disconnect once the meters due now are polled
    Location where;
};

/// One register (or coil/discrete input) of a meter and how to decode it.
/// When a register's value goes into a sample: every poll, or only when it changed by more
/// than its deadband (and at least every heartbeat of its meter). kMeterDefault: as its
/// meter's `report` says (resolved by the loader: a loaded configuration has none left).
enum class ReportMode { kMeterDefault, kEveryPoll, kOnChange };

struct RegisterConfig {
    std::string name;
    uint16_t address = 0;  // 0-based
    RegisterFunction function = RegisterFunction::kHolding;
    ValueType type = ValueType::kUint16;
    ByteOrder byte_order = ByteOrder::kABCD;
    double scale = 1.0;
    double offset = 0.0;
    int length = 0;  // registers; only for type string (2 characters per register)
    ReportMode report = ReportMode::kMeterDefault;
    double deadband = 0;            // on_change: a change larger than this is sent (0: any)
    bool deadband_percent = false;  // deadband is a percentage of the last value sent
    Location where;
};

/// A register Kaa may write with a `write` command (11/CEP): where and how the value is
/// stored (a holding register or a coil), and the range of values it accepts.
struct WritableConfig {
    RegisterConfig reg;
    std::optional<double> min;    // inclusive, in the value's units (after scale and offset)
    std::optional<double> max;    // the type's own range narrows both further
    bool write_multiple = false;  // function 16 (15 for a coil) even for one register
};

/// One meter: a Modbus unit on a bus, mapped to one Kaa endpoint token.
struct MeterConfig {
    std::string name;
    std::string token;
    std::string bus;
    int unit = 1;
    Millis poll_interval{10000};
    nlohmann::json metadata = nlohmann::json::object();  // static EPMP keys
    std::vector<RegisterConfig> metadata_registers;
    Millis metadata_interval{3600000};           // metadata_registers are read again this often
    ReportMode report = ReportMode::kEveryPoll;  // its registers' default
    Millis heartbeat{900000};  // on_change registers: every value is sent at least this often
    std::vector<RegisterConfig> registers;
    std::vector<WritableConfig> writable;  // what `write` commands may change
    int max_gap = 8;                       // unused registers a merged read may span
    int max_registers = 125;               // per read request (registers); bits are capped at 2000
    std::string profile;  // the profile its registers came from (config/profiles.hpp), or ""
    Location where;
};

/// The whole validated configuration.
struct GatewayConfig {
    std::string source_path;
    KaaConfig kaa;
    BufferConfig buffer;
    GatewayEndpointConfig gateway;
    StatusConfig status;
    ClockConfig clock;
    std::vector<BusConfig> buses;
    std::vector<MeterConfig> meters;
};

/// The lowest and highest value a register of `reg`'s type can carry after its scale and
/// offset (numbers only; a float's range is that of the float).
std::pair<double, double> writable_range(const RegisterConfig& reg);
/// Number of 16-bit registers a value of this type occupies (string: its length).
int register_count(ValueType type, int string_length);
/// True for coil and discrete inputs, which are read as bits.
inline bool is_bit_function(RegisterFunction f) {
    return f == RegisterFunction::kCoil || f == RegisterFunction::kDiscrete;
}
/// The names users write in YAML, for messages and --check output.
const char* to_string(RegisterFunction f);
const char* to_string(ValueType t);
const char* to_string(ByteOrder b);
const char* to_string(Parity p);
const char* to_string(Delivery d);
const char* to_string(Overflow o);
const char* to_string(ReportMode r);
/// A duration the way users write it: "500ms", "10s", "5min", "1h".
std::string format_duration(Millis d);

}  // namespace kaa::config
