// MqttClient over libmosquitto.
#include "daemon/kaa/mosquitto_client.hpp"

#include <mosquitto.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include <spdlog/spdlog.h>

#include "core/printable.hpp"
#include "daemon/kaa/password_file.hpp"
#include "daemon/kaa/port_probe.hpp"

namespace kaa::uplink {
namespace {

// The component named in log lines, under a name of its own: with KAA_UNITY_BUILD this
// file shares one translation unit with the rest of its library.
constexpr const char* kMqttLog = "mqtt";

/// libmosquitto must be initialised once per process before any client exists.
void init_library_once() {
    static const bool done = [] {
        mosquitto_lib_init();
        return true;
    }();
    (void)done;
}

/// A sentence for a libmosquitto error code, with errno where it carries the cause.
std::string describe_rc(int rc) {
    if (rc == MOSQ_ERR_ERRNO)
        return std::strerror(errno);
    return mosquitto_strerror(rc);
}

/// An error naming the TLS file of `key` when this process cannot read it, else success.
Status check_tls_file(const char* key, const std::string& path) {
    if (path.empty())
        return {};
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) {
        return make_error(ErrorKind::kUnavailable,
                          std::string("cannot read kaa.tls.") + key + " '" + path +
                              "': " + std::strerror(errno) +
                              " (fix the path, or let the service user read the file)");
    }
    std::fclose(f);
    return {};
}

// How long the probe of a port that failed in a way a TLS/plain mix-up explains may take.
constexpr auto kProbeTimeout = std::chrono::milliseconds(1000);
// libmosquitto's own error lines (OpenSSL's reasons, the file it could not load) kept for
// the next failure report: the last few, each bounded.
constexpr size_t kLibErrorsKept = 3;
constexpr size_t kLibErrorBytes = 300;
// The failure kind of a connection that broke off before the broker's CONNACK (a TLS
// handshake refused, a TLS/plain port mix-up), whether libmosquitto saw it in its connect
// or in its first loop turns: one kind, so one line, then rate-limited.
constexpr const char* kHandshakeFailure = "handshake";

}  // namespace

std::string MosquittoClient::connack_fix(int rc) const {
    const bool auth = !options_.username.empty();
    switch (rc) {
        case 1:
            return "the broker does not speak MQTT 3.1.1";
        case 2:
            return "the broker rejected the client id '" + options_.client_id +
                   "': set kaa.client_id to one it accepts";
        case 3:
            return "the broker is up but its MQTT service is not; try again later or check "
                   "the broker";
        case 4:
        case 5:
            if (!auth)
                return "the broker wants a username and password: set kaa.auth (username, "
                       "password_file)";
            return "check kaa.auth.username '" + options_.username +
                   "' and the password in kaa.auth.password_file '" + options_.password_file +
                   "' against the broker's users" +
                   (rc == 5 ? " (and that this user may connect)" : "");
        default:
            return "see the broker's log";
    }
}

MosquittoClient::MosquittoClient(MosquittoOptions options, const Clock& clock)
    : options_(std::move(options)),
      clock_(clock),
      reconnect_(options_.min_delay, options_.max_delay),
      log_limiter_(clock, std::chrono::minutes(1)) {}

MosquittoClient::~MosquittoClient() {
    stop();
    // Whether the loop ran or not, nothing uses the handle now, unless a thread was left
    // behind in a blocked connect (then it keeps it, and the process is ending anyway).
    if (mosq_ != nullptr && !left_behind_)
        mosquitto_destroy(mosq_);
}

std::string MosquittoClient::endpoint() const {
    return options_.host + ":" + std::to_string(options_.port) + (options_.tls ? " (TLS)" : "");
}

Status MosquittoClient::start(MqttListener* listener) {
    init_library_once();
    listener_ = listener;
    mosq_ = mosquitto_new(options_.client_id.c_str(), true, this);
    if (mosq_ == nullptr) {
        return make_error(ErrorKind::kInternal, "cannot create the MQTT client (out of memory?)");
    }
    thread_ = std::thread([this] { run(); });
    return {};
}

// Applies options, credentials and callbacks to a fresh (or re-initialised) libmosquitto
// object. Run before every connect attempt: the files it reads may have changed since.
Status MosquittoClient::prepare() {
    mosquitto_threaded_set(mosq_, true);
    mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_connect_callback_set(mosq_, &MosquittoClient::on_connect_cb);
    mosquitto_disconnect_callback_set(mosq_, &MosquittoClient::on_disconnect_cb);
    mosquitto_message_callback_set(mosq_, &MosquittoClient::on_message_cb);
    mosquitto_publish_callback_set(mosq_, &MosquittoClient::on_publish_cb);
    mosquitto_log_callback_set(mosq_, &MosquittoClient::on_log_cb);
    if (!options_.username.empty()) {
        // Never an empty password in place of one that cannot be read.
        auto password = read_password_file(options_.password_file);
        if (!password)
            return password.error();
        const int rc =
            mosquitto_username_pw_set(mosq_, options_.username.c_str(), password.value().c_str());
        std::fill(password.value().begin(), password.value().end(), '\0');
        if (rc != MOSQ_ERR_SUCCESS) {
            return make_error(ErrorKind::kInvalidArgument,
                              "MQTT credentials rejected by libmosquitto: " + describe_rc(rc));
        }
    }
    if (options_.tls) {
        const std::pair<const char*, const std::string*> files[] = {
            {"ca_file", &options_.ca_file},
            {"cert_file", &options_.cert_file},
            {"key_file", &options_.key_file}};
        for (const auto& [key, path] : files) {
            if (auto st = check_tls_file(key, *path); !st)
                return st;
        }
        if (auto st = check_tls_contents(); !st)
            return st;
        const int rc = mosquitto_tls_set(
            mosq_, options_.ca_file.c_str(), nullptr,
            options_.cert_file.empty() ? nullptr : options_.cert_file.c_str(),
            options_.key_file.empty() ? nullptr : options_.key_file.c_str(), nullptr);
        if (rc != MOSQ_ERR_SUCCESS) {
            return make_error(ErrorKind::kUnavailable,
                              "TLS set-up failed (check kaa.tls ca_file, cert_file, key_file "
                              "exist and are readable): " +
                                  describe_rc(rc));
        }
    }
    return {};
}

Status MosquittoClient::check_tls_contents() const {
    if (options_.tls_inspector == nullptr)
        return {};
    const TlsFiles files{options_.ca_file, options_.cert_file, options_.key_file};
    for (const auto& problem :
         options_.tls_inspector->check_files(files, std::chrono::system_clock::now())) {
        if (problem.fatal) {
            return make_error(ErrorKind::kUnavailable,
                              "kaa.tls." + problem.key + ": " + problem.text);
        }
    }
    return {};
}

std::string MosquittoClient::failure_hint() const {
    if (options_.tls && options_.tls_inspector != nullptr) {
        const TlsFiles files{options_.ca_file, options_.cert_file, options_.key_file};
        std::string why = options_.tls_inspector->diagnose_handshake(options_.host, options_.port,
                                                                     files, kProbeTimeout);
        if (!why.empty())
            return why;
    }
    return port_hint(options_.host, options_.port, options_.tls,
                     probe_port(options_.host, options_.port, kProbeTimeout));
}

void MosquittoClient::run() {
    spdlog::info("{}: connecting to {} as client id '{}'", kMqttLog, endpoint(),
                 options_.client_id);
    bool fresh = true;
    while (!stop_) {
        if (!socket_up_) {
            if (!set_up(fresh) || !connect_once()) {
                fresh = false;
                wait_before_retry();
                continue;
            }
            fresh = false;
        }
        const int rc = mosquitto_loop(mosq_, 100, 1);
        if (rc != MOSQ_ERR_SUCCESS && !stop_) {
            socket_up_ = false;
            if (connected_.exchange(false)) {
                listener_->on_disconnected(describe_rc(rc));
            } else if (!accepted_ && !refused_) {
                // A TLS listener drops a plain CONNECT; a plain one drops a TLS handshake.
                report_failure(kHandshakeFailure,
                               "connection to " + endpoint() +
                                   " closed before the broker accepted it: " + describe_rc(rc) +
                                   lib_errors(),
                               /*probe=*/true);
            }
            accepted_ = false;
            refused_ = false;
            wait_before_retry();
        }
    }
    if (socket_up_) {
        mosquitto_disconnect(mosq_);
        // Let the DISCONNECT packet leave; a few loop turns are plenty on a live socket.
        for (int i = 0; i < 10 && mosquitto_loop(mosq_, 50, 1) == MOSQ_ERR_SUCCESS; ++i) {
        }
    }
    finished_ = true;
    wait_cv_.notify_all();
}

bool MosquittoClient::set_up(bool fresh) {
    std::lock_guard<std::mutex> lock(mosq_mutex_);
    if (!fresh)
        mosquitto_reinitialise(mosq_, options_.client_id.c_str(), true, this);
    {
        std::lock_guard<std::mutex> errors(lib_errors_mutex_);
        lib_errors_.clear();
    }
    if (auto st = prepare(); !st) {
        // A file removed or spoiled while running: say which, keep retrying with backoff.
        report_failure("setup", st.error().message + "; not connecting until it is fixed", false);
        return false;
    }
    return true;
}

bool MosquittoClient::connect_once() {
    std::lock_guard<std::mutex> lock(mosq_mutex_);
    errno = 0;
    const int rc =
        mosquitto_connect(mosq_, options_.host.c_str(), options_.port, options_.keepalive_s);
    if (rc == MOSQ_ERR_SUCCESS) {
        socket_up_ = true;
        return true;
    }
    std::string why = describe_rc(rc);
    if (rc == MOSQ_ERR_ERRNO && errno == ECONNREFUSED) {
        why += options_.tls ? " (is the broker listening for TLS on this port? 8883 is the usual "
                              "MQTT-over-TLS port)"
                            : " (is the broker running? 1883 is plain MQTT, 8883 is TLS)";
    } else if (rc == MOSQ_ERR_TLS) {
        why += " (TLS handshake failed: wrong port for TLS, or a CA that does not match)";
    } else if (rc == MOSQ_ERR_EAI) {
        why += " (the host name could not be resolved)";
    }
    report_failure(rc == MOSQ_ERR_TLS ? kHandshakeFailure : "connect:" + std::to_string(rc),
                   "cannot connect to " + endpoint() + ": " + why + lib_errors(),
                   rc == MOSQ_ERR_TLS);
    return false;
}

void MosquittoClient::report_failure(const std::string& kind, const std::string& what, bool probe) {
    // Each kind of failure has its own limit: a new cause (the broker is back, but now the
    // CA file is bad) is logged at once, not a minute after the last one.
    const std::string key = "connect:" + kind;
    failure_keys_.insert(key);
    int suppressed = 0;
    if (!log_limiter_.allow(key, suppressed))
        return;
    // Only when the line is written: the probe costs a connection and up to a second.
    std::string hint;
    if (probe)
        hint = failure_hint();
    if (!hint.empty())
        hint = "; " + hint;
    if (suppressed > 0) {
        spdlog::warn("{}: {}{} (and {} more failed attempts)", kMqttLog, what, hint, suppressed);
    } else {
        spdlog::warn("{}: {}{}; retrying with backoff", kMqttLog, what, hint);
    }
}

std::string MosquittoClient::lib_errors() {
    std::lock_guard<std::mutex> lock(lib_errors_mutex_);
    std::string out;
    for (const auto& line : lib_errors_)
        out += (out.empty() ? " (libmosquitto: " : "; ") + line;
    lib_errors_.clear();
    return out.empty() ? out : out + ")";
}

void MosquittoClient::handle_log(int level, const char* text) {
    if (level != MOSQ_LOG_ERR || text == nullptr)
        return;
    std::lock_guard<std::mutex> lock(lib_errors_mutex_);
    if (lib_errors_.size() >= kLibErrorsKept)
        lib_errors_.erase(lib_errors_.begin());
    lib_errors_.push_back(printable(text, kLibErrorBytes));
}

void MosquittoClient::wait_before_retry() {
    const auto retry_at = reconnect_.failed(clock_.now());
    spdlog::debug("{}: next attempt in {} ms", kMqttLog, reconnect_.last_delay().count());
    std::unique_lock<std::mutex> lock(wait_mutex_);
    clock_.wait_until(lock, wait_cv_, retry_at, [this] { return stop_.load(); });
}

Result<int> MosquittoClient::publish(const std::string& topic, const std::string& payload,
                                     int qos) {
    std::unique_lock<std::mutex> lock(mosq_mutex_, std::try_to_lock);
    if (!lock.owns_lock() || !connected_) {
        return make_error(ErrorKind::kNotConnected, "not connected");
    }
    int mid = 0;
    const int rc = mosquitto_publish(mosq_, &mid, topic.c_str(), static_cast<int>(payload.size()),
                                     payload.data(), qos, false);
    if (rc != MOSQ_ERR_SUCCESS) {
        const ErrorKind kind = rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST
                                   ? ErrorKind::kNotConnected
                                   : ErrorKind::kUnavailable;
        return make_error(kind, "publish to " + topic + " failed: " + describe_rc(rc), rc);
    }
    return mid;
}

Status MosquittoClient::subscribe(const std::string& filter, int qos) {
    std::unique_lock<std::mutex> lock(mosq_mutex_, std::try_to_lock);
    if (!lock.owns_lock() || !connected_) {
        return make_error(ErrorKind::kNotConnected, "not connected");
    }
    const int rc = mosquitto_subscribe(mosq_, nullptr, filter.c_str(), qos);
    if (rc != MOSQ_ERR_SUCCESS) {
        return make_error(ErrorKind::kUnavailable,
                          "subscribe to " + filter + " failed: " + describe_rc(rc), rc);
    }
    return {};
}

void MosquittoClient::stop() {
    if (!thread_.joinable())
        return;
    stop_ = true;
    wait_cv_.notify_all();
    {
        // A connect attempt to an unreachable host can block for a long time inside
        // libmosquitto; shutdown must not wait for it.
        std::unique_lock<std::mutex> lock(wait_mutex_);
        clock_.wait_until(lock, wait_cv_, clock_.now() + std::chrono::seconds(3),
                          [this] { return finished_.load(); });
    }
    if (finished_) {
        thread_.join();
    } else {
        spdlog::warn("{}: connect attempt still blocked at shutdown; leaving it behind", kMqttLog);
        left_behind_ = true;
        thread_.detach();
    }
}

void MosquittoClient::handle_connect(int rc) {
    if (rc != 0) {
        refused_ = true;
        report_failure("connack:" + std::to_string(rc),
                       "broker " + endpoint() + " refused the connection with CONNACK code " +
                           std::to_string(rc) + " (" + mosquitto_connack_string(rc) +
                           "): " + connack_fix(rc),
                       false);
        return;
    }
    accepted_ = true;
    reconnect_.connected();
    for (const auto& key : failure_keys_)
        log_limiter_.reset(key);
    failure_keys_.clear();
    connected_ = true;
    std::string session;
    if (options_.tls && options_.tls_inspector != nullptr)
        session = options_.tls_inspector->describe_session(mosquitto_ssl_get(mosq_));
    spdlog::info("{}: connected to {}{}", kMqttLog, endpoint(),
                 session.empty() ? "" : " with " + session + ", broker certificate verified");
    listener_->on_connected();
}

void MosquittoClient::handle_disconnect(int rc) {
    if (stop_)
        return;
    if (connected_.exchange(false)) {
        listener_->on_disconnected(rc == 0 ? "disconnected" : describe_rc(rc));
    }
}

void MosquittoClient::handle_message(const mosquitto_message* message) {
    std::string_view payload;
    if (message->payload != nullptr && message->payloadlen > 0) {
        payload = std::string_view(static_cast<const char*>(message->payload),
                                   static_cast<size_t>(message->payloadlen));
    }
    listener_->on_message(message->topic, payload);
}

void MosquittoClient::handle_publish(int mid) {
    listener_->on_published(mid);
}

void MosquittoClient::on_connect_cb(mosquitto*, void* self, int rc) {
    static_cast<MosquittoClient*>(self)->handle_connect(rc);
}
void MosquittoClient::on_disconnect_cb(mosquitto*, void* self, int rc) {
    static_cast<MosquittoClient*>(self)->handle_disconnect(rc);
}
void MosquittoClient::on_message_cb(mosquitto*, void* self, const mosquitto_message* message) {
    static_cast<MosquittoClient*>(self)->handle_message(message);
}
void MosquittoClient::on_publish_cb(mosquitto*, void* self, int mid) {
    static_cast<MosquittoClient*>(self)->handle_publish(mid);
}
void MosquittoClient::on_log_cb(mosquitto*, void* self, int level, const char* text) {
    static_cast<MosquittoClient*>(self)->handle_log(level, text);
}

}  // namespace kaa::uplink
