// MqttClient over libmosquitto.
#include "daemon/kaa/mosquitto_client.hpp"

#include <mosquitto.h>

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

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

}  // namespace

MosquittoClient::MosquittoClient(MosquittoOptions options, const Clock& clock)
    : options_(std::move(options)),
      clock_(clock),
      reconnect_(options_.min_delay, options_.max_delay),
      log_limiter_(clock, std::chrono::minutes(1)) {}

MosquittoClient::~MosquittoClient() {
    stop();
    if (mosq_ != nullptr && finished_)
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
    if (auto st = prepare(); !st)
        return st;
    thread_ = std::thread([this] { run(); });
    return {};
}

// Applies options and callbacks to a fresh (or re-initialised) libmosquitto object.
Status MosquittoClient::prepare() {
    mosquitto_threaded_set(mosq_, true);
    mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_connect_callback_set(mosq_, &MosquittoClient::on_connect_cb);
    mosquitto_disconnect_callback_set(mosq_, &MosquittoClient::on_disconnect_cb);
    mosquitto_message_callback_set(mosq_, &MosquittoClient::on_message_cb);
    mosquitto_publish_callback_set(mosq_, &MosquittoClient::on_publish_cb);
    if (!options_.username.empty()) {
        const int rc = mosquitto_username_pw_set(
            mosq_, options_.username.c_str(),
            options_.password.empty() ? nullptr : options_.password.c_str());
        if (rc != MOSQ_ERR_SUCCESS) {
            return make_error(ErrorKind::kInvalidArgument,
                              "MQTT credentials rejected by libmosquitto: " + describe_rc(rc));
        }
    }
    if (options_.tls) {
        const int rc = mosquitto_tls_set(
            mosq_, options_.ca_file.c_str(), nullptr,
            options_.cert_file.empty() ? nullptr : options_.cert_file.c_str(),
            options_.key_file.empty() ? nullptr : options_.key_file.c_str(), nullptr);
        if (rc != MOSQ_ERR_SUCCESS) {
            return make_error(ErrorKind::kInvalidArgument,
                              "TLS set-up failed (check kaa.tls ca_file, cert_file, key_file "
                              "exist and are readable): " +
                                  describe_rc(rc));
        }
    }
    return {};
}

void MosquittoClient::run() {
    spdlog::info("{}: connecting to {} as client id '{}'", kMqttLog, endpoint(),
                 options_.client_id);
    bool fresh = true;
    while (!stop_) {
        if (!socket_up_) {
            if (!fresh) {
                std::lock_guard<std::mutex> lock(mosq_mutex_);
                mosquitto_reinitialise(mosq_, options_.client_id.c_str(), true, this);
                if (auto st = prepare(); !st) {
                    spdlog::critical("{}: {}", kMqttLog, st.error().message);
                    std::abort();
                }
            }
            fresh = false;
            if (!connect_once()) {
                wait_before_retry();
                continue;
            }
        }
        const int rc = mosquitto_loop(mosq_, 100, 1);
        if (rc != MOSQ_ERR_SUCCESS && !stop_) {
            socket_up_ = false;
            if (connected_.exchange(false)) {
                listener_->on_disconnected(describe_rc(rc));
            } else {
                report_failure("connection to " + endpoint() +
                               " closed before the broker "
                               "accepted it: " +
                               describe_rc(rc));
            }
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
    report_failure("cannot connect to " + endpoint() + ": " + why);
    return false;
}

void MosquittoClient::report_failure(const std::string& what) {
    int suppressed = 0;
    if (log_limiter_.allow("connect", suppressed)) {
        if (suppressed > 0) {
            spdlog::warn("{}: {} (and {} more failed attempts)", kMqttLog, what, suppressed);
        } else {
            spdlog::warn("{}: {}; retrying with backoff", kMqttLog, what);
        }
    }
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
        thread_.detach();
    }
}

void MosquittoClient::handle_connect(int rc) {
    if (rc != 0) {
        report_failure("broker " + endpoint() +
                       " refused the connection: " + mosquitto_connack_string(rc) +
                       (rc == 4 || rc == 5 ? " (check kaa.auth username and password_file)" : ""));
        return;
    }
    reconnect_.connected();
    log_limiter_.reset("connect");
    connected_ = true;
    spdlog::info("{}: connected to {}", kMqttLog, endpoint());
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

}  // namespace kaa::uplink
