#pragma once
// MosquittoClient: MqttClient over libmosquitto, with its own network thread that
// connects, runs the MQTT loop, and reconnects as ReconnectPolicy says (capped full-jitter
// backoff), waiting through the Clock.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "core/rate_limiter.hpp"
#include "core/tls_inspector.hpp"
#include "daemon/kaa/mqtt_client.hpp"
#include "daemon/kaa/reconnect_policy.hpp"

struct mosquitto;
struct mosquitto_message;

namespace kaa::uplink {

/// Everything needed to open the MQTT connection.
struct MosquittoOptions {
    std::string host;
    int port = 1883;
    std::string client_id;
    int keepalive_s = 60;
    bool tls = false;
    std::string ca_file;
    std::string cert_file;
    std::string key_file;
    std::string username;
    std::string password_file;  // read at every connect attempt; the password is never logged
    std::chrono::milliseconds min_delay{1000};
    std::chrono::milliseconds max_delay{60000};
    /// Explains TLS failures (files, handshake) in words; may be null (then libmosquitto's
    /// and OpenSSL's own words are all there is). Must outlive the client.
    const TlsInspector* tls_inspector = nullptr;
};

/// One MQTT 3.1.1 connection with clean session. Each reconnect starts from a fresh
/// libmosquitto state, so nothing is re-sent behind the uplink's back: the uplink alone
/// decides what to send again.
class MosquittoClient final : public MqttClient {
  public:
    MosquittoClient(MosquittoOptions options, const Clock& clock);
    ~MosquittoClient() override;

    Status start(MqttListener* listener) override;
    Result<int> publish(const std::string& topic, const std::string& payload, int qos) override;
    Status subscribe(const std::string& filter, int qos) override;
    void stop() override;

  private:
    void run();
    /// Re-initialises libmosquitto (unless fresh) and applies the options; false (logged)
    /// when a file they need cannot be read.
    bool set_up(bool fresh);
    Status prepare();
    /// The first problem the TLS inspector finds in kaa.tls's files that no connection can
    /// work with, as an error; success without an inspector.
    Status check_tls_contents() const;
    /// Why a connection that failed before the broker accepted it failed, from a TLS
    /// handshake diagnosis or a probe of the port; "" when neither tells.
    std::string failure_hint() const;
    /// What to do about a CONNACK refusal code.
    std::string connack_fix(int rc) const;
    bool connect_once();
    void wait_before_retry();
    /// Logs a failed attempt (rate-limited per kind of failure); with probe, adds a hint
    /// when the port speaks TLS while kaa.tls is unset, or plain MQTT while it is set.
    void report_failure(const std::string& kind, const std::string& what, bool probe);
    /// libmosquitto's error lines since the last call, as " (libmosquitto: ...)" or "".
    std::string lib_errors();
    /// Keeps libmosquitto's error lines (bounded) for the next failure report.
    void handle_log(int level, const char* text);
    void handle_connect(int rc);
    void handle_disconnect(int rc);
    void handle_message(const mosquitto_message* message);
    void handle_publish(int mid);
    std::string endpoint() const;

    static void on_connect_cb(mosquitto*, void* self, int rc);
    static void on_disconnect_cb(mosquitto*, void* self, int rc);
    static void on_message_cb(mosquitto*, void* self, const mosquitto_message* message);
    static void on_publish_cb(mosquitto*, void* self, int mid);
    static void on_log_cb(mosquitto*, void* self, int level, const char* text);

    MosquittoOptions options_;
    const Clock& clock_;
    MqttListener* listener_ = nullptr;
    mosquitto* mosq_ = nullptr;
    std::mutex mosq_mutex_;  // guards mosq_ against re-initialisation while publishing
    std::thread thread_;
    std::mutex wait_mutex_;
    std::condition_variable wait_cv_;
    std::atomic<bool> stop_{false};
    std::atomic<bool> finished_{false};
    bool left_behind_ = false;  // stop() detached a thread blocked in libmosquitto
    bool socket_up_ = false;
    bool refused_ = false;   // the broker refused the current socket with a CONNACK code
                             // (already reported: its closing is not reported again)
    bool accepted_ = false;  // the broker accepted the current socket (a later loss is no
                             // failed attempt: on_disconnected reports it)
    std::atomic<bool> connected_{false};
    ReconnectPolicy reconnect_;
    RateLimiter log_limiter_;
    std::set<std::string> failure_keys_;  // limiter keys of failures since the last connect
    std::mutex lib_errors_mutex_;
    std::vector<std::string> lib_errors_;  // libmosquitto's recent error lines
};

}  // namespace kaa::uplink
