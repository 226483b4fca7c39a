#pragma once
// OwnEndpoint: the gateway as a Kaa endpoint of its own (gateway.token). Its metadata
// (10/EPMP: version, host, what is configured) goes out after every connect and when it
// changes; its health samples (2/DCP) go out as they are made, and wait in memory (bounded,
// the oldest dropped and counted) while the link is down. Meters' tokens never carry any of
// it. Single-threaded: the gateway's main loop calls every method.

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/timestamp_format.hpp"
#include "core/clock.hpp"
#include "core/rate_limiter.hpp"
#include "daemon/kaa/mqtt_client.hpp"
#include "daemon/kaa/topics.hpp"

namespace kaa::uplink {

/// How the gateway's own endpoint is reached and confirmed.
struct OwnEndpointSettings {
    std::string app_version;
    std::string token;
    int qos = 1;
    bool await_status = true;  // kaa.delivery status: a publish counts once /status confirms it
    std::chrono::milliseconds response_timeout{30000};
    config::TimestampField timestamp;
    size_t max_waiting = 1440;  // health samples kept while the link is down (a day at 60 s)
};

/// Running totals of the own endpoint, for the status and tests.
struct OwnEndpointCounters {
    uint64_t samples_sent = 0;       // health samples published (again after a failure too)
    uint64_t samples_confirmed = 0;  // confirmed by /status (or published, without await_status)
    uint64_t samples_dropped = 0;    // the oldest, past max_waiting, or refused for good (4xx)
    uint64_t metadata_sent = 0;
    uint64_t metadata_confirmed = 0;
    uint64_t errors_received = 0;
};

/// The gateway's own Kaa endpoint: metadata and health samples under gateway.token.
class OwnEndpoint {
  public:
    OwnEndpoint(OwnEndpointSettings settings, MqttClient& mqtt, const Clock& clock);

    /// The connection is up: every metadata key goes out again, then waiting samples.
    void handle_connected();
    /// The connection is gone: what was in flight waits to be sent again.
    void handle_disconnected();
    /// The metadata as it is now (every key); only a change is sent while connected.
    void set_metadata(const nlohmann::json& keys);
    /// A health sample read at `read_ms` (wall clock): `values` is a flat JSON object.
    void add_sample(int64_t read_ms, const nlohmann::json& values);
    /// A message from the platform: true when it was a reply to this endpoint (handled).
    bool handle_reply(const std::string& topic, const std::string& payload);
    /// Publishes what may go now: metadata first, then waiting samples (one batch in flight).
    void pump();
    /// Requests whose answer did not come within response_timeout are sent again.
    void check_timeouts();
    /// The earliest moment check_timeouts or a retry has work to do.
    std::optional<Clock::Monotonic> next_deadline() const;

    const OwnEndpointCounters& counters() const { return counters_; }
    /// Health samples not yet confirmed (waiting or in flight).
    size_t waiting() const { return waiting_.size(); }
    const std::string& token() const { return settings_.token; }

  private:
    struct Pending {
        uint32_t request_id = 0;
        Clock::Monotonic deadline{};
    };
    void publish_metadata();
    void publish_samples();
    /// What became of the samples in flight: confirmed, refused for good, or to send again.
    enum class Outcome { kConfirmed, kDropped, kAgain };
    void samples_done(Outcome outcome);
    void metadata_done(bool confirmed);
    uint32_t next_request_id();

    OwnEndpointSettings settings_;
    MqttClient& mqtt_;
    const Clock& clock_;
    Topics topics_;
    bool connected_ = false;
    nlohmann::json keys_ = nlohmann::json::object();
    nlohmann::json sent_keys_ = nlohmann::json::object();  // what Kaa confirmed last
    bool metadata_dirty_ = false;
    std::optional<Pending> metadata_in_flight_;
    nlohmann::json metadata_payload_;  // the keys of the request in flight
    std::deque<std::string> waiting_;  // unconfirmed samples as JSON objects, oldest first
    size_t in_flight_samples_ = 0;     // the first of waiting_ are in flight
    std::optional<Pending> samples_in_flight_;
    std::optional<Clock::Monotonic> retry_at_;  // after a 5xx: no samples before then
    uint32_t request_id_ = 0;
    OwnEndpointCounters counters_;
    RateLimiter log_limiter_;
};

}  // namespace kaa::uplink
