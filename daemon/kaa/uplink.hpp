#pragma once
// Uplink: the Kaa side of the gateway. Sends each meter's metadata (10/EPMP) after
// every connect and its samples (2/DCP) in batches, tracks each request id until it
// is confirmed as kaa.delivery says, and sends again what was not confirmed.
// Single-threaded: the gateway's main loop calls every method.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "core/backoff.hpp"
#include "core/clock.hpp"
#include "core/rate_limiter.hpp"
#include "core/sample.hpp"
#include "daemon/buffer/sample_store.hpp"
#include "daemon/kaa/error_policy.hpp"
#include "daemon/kaa/mqtt_client.hpp"
#include "daemon/kaa/topics.hpp"

namespace kaa::uplink {

/// How the uplink behaves; taken from the kaa: and buffer: sections.
struct UplinkSettings {
    std::string app_version;
    int qos = 1;
    config::Delivery delivery = config::Delivery::kStatus;
    std::chrono::milliseconds response_timeout{30000};
    size_t batch = 500;                // samples per DCX publish at most
    size_t batch_bytes = 256 * 1024;   // bytes per DCX or EPMP publish at most
    config::TimestampField timestamp;  // the sample field with the read time, and its format
    size_t max_in_flight = 8;          // sample batches awaiting confirmation at once
    // A meter's live readings wait this long after the first of them was seen, so that
    // several go in one request (kaa.live_window; 0: each turn's readings at once).
    std::chrono::milliseconds live_window{0};
    // After Kaa answers 5xx for a meter, its samples wait a capped full-jitter backoff
    // (core/backoff.hpp: between the minimum and a ceiling doubling per repeated failure, up
    // to the maximum) before they are sent again, so a failing platform is not hammered in a
    // tight loop, nor by every gateway in step.
    std::chrono::milliseconds retry_min_delay{1000};
    std::chrono::milliseconds retry_max_delay{60000};
    std::optional<uint64_t> retry_seed;  // tests: deterministic jitter (meter m: seed + m)
};

/// A meter as Kaa knows it.
struct Endpoint {
    std::string meter;  // name, for logs
    std::string token;
};

/// Running totals, for status lines, logs and tests.
struct UplinkCounters {
    uint64_t batches_published = 0;
    uint64_t samples_delivered = 0;
    uint64_t batches_resent = 0;    // timed out, 5xx, or cut by a disconnect
    uint64_t samples_rejected = 0;  // dropped after an /error that can never succeed
    uint64_t samples_bad_time = 0;  // dropped: read time before 1970 or absurdly far ahead
    uint64_t samples_held = 0;      // held after an /error that may succeed later
    uint64_t metadata_published = 0;
    uint64_t metadata_confirmed = 0;
    uint64_t errors_received = 0;
    uint64_t stray_replies = 0;  // /status or /error for no request in flight: ignored
};

/// The last /error Kaa sent for a request in flight, for the status.
struct LastErrorReply {
    int code = 0;
    std::string reason;  // printable(): bounded, one line
    std::string meter;
    int64_t at_ms = 0;  // wall clock
};

/// The delivery engine between the sample store and the MQTT connection.
class Uplink {
  public:
    Uplink(UplinkSettings settings, std::vector<Endpoint> endpoints, MqttClient& mqtt,
           SampleStore& store, const Clock& clock);

    /// The connection is up: subscribe to replies, queue every meter's metadata.
    void handle_connected();
    /// The connection is gone: everything unconfirmed will be sent again.
    void handle_disconnected(const std::string& reason);
    /// A message from the platform: a /status or /error reply.
    void handle_message(const std::string& topic, const std::string& payload);
    /// A message whose payload (`bytes` long) was too large to keep: a reply on its topic
    /// is taken as an unreadable /error (held and resent, never a deletion).
    void handle_oversized_message(const std::string& topic, size_t bytes);
    /// The largest /error payload that is parsed.
    static constexpr size_t kMaxErrorPayloadBytes = 64 * 1024;
    /// The client reports a publish left (QoS 0) or was acknowledged (QoS 1).
    void handle_published(int message_id);
    /// New metadata keys for a meter; sent now if connected, else after connecting. Their
    /// strings must be UTF-8 (they are published as JSON text): the poller's and the
    /// configuration's are.
    void set_metadata(const MetadataUpdate& update);
    /// Publishes what may be published now: metadata, then live samples, then the backlog.
    void pump();
    /// Releases requests whose confirmation did not come within response_timeout.
    void check_timeouts();
    /// Deletes, in one transaction, the samples confirmed (or rejected) since the last call.
    void flush_removals();
    /// The earliest moment check_timeouts has work to do.
    std::optional<Clock::Monotonic> next_deadline() const;

    /// A configuration reload added a meter (meter == the number of meters so far) or
    /// changed one's token: its metadata is sent again under the (new) token.
    void set_endpoint(size_t meter, Endpoint endpoint);
    /// A configuration reload removed a meter: its metadata is no longer sent; its
    /// buffered samples still are, under its last token.
    void retire_endpoint(size_t meter);

    /// While true no samples are sent (metadata still is): the wall clock is not yet
    /// synchronised, so read times may be wrong (core/clock_watch.hpp).
    void hold_samples(bool held) { samples_held_ = held; }
    bool connected() const { return connected_; }
    /// True while connected with backlog samples waiting to be sent: a drain runs at the
    /// pace of Kaa's answers, so the main loop should act on each one at once.
    bool draining() const;
    const UplinkCounters& counters() const { return counters_; }
    /// The last /error received for a request in flight; code 0 when none came.
    const LastErrorReply& last_error() const { return last_error_; }
    /// Requests awaiting confirmation (samples and metadata).
    size_t in_flight() const { return in_flight_.size(); }

  private:
    struct Request {
        Extension extension = Extension::kDataCollection;
        size_t meter = 0;
        std::vector<uint64_t> sample_ids;  // data collection only
        int64_t first_read_ms = 0;         // read times of the first and last sample
        int64_t last_read_ms = 0;
        std::vector<std::string> keys;  // metadata only: the keys this part carried
        int message_id = -1;
        Clock::Monotonic deadline;
    };
    struct MeterHold {
        explicit MeterHold(Backoff b) : backoff(std::move(b)) {}
        Backoff backoff;                             // the delay of the next hold
        std::optional<Clock::Monotonic> until;       // no sending for this meter before then
        std::optional<Clock::Monotonic> since;       // refused since (unset: not refused)
        bool announced = false;                      // the long refusal was logged
        size_t take = 0;                             // samples to take next: what fit last time
        std::optional<Clock::Monotonic> live_since;  // its unsent live readings seen since
    };
    struct MetadataState {
        nlohmann::json keys = nlohmann::json::object();
        nlohmann::json changed = nlohmann::json::object();  // keys changed since the last send
        bool dirty = false;          // differs from what Kaa confirmed, or a reconnect happened
        bool full = true;            // the next send carries every key (a connect, a failure)
        size_t parts_in_flight = 0;  // update/keys requests of this meter awaiting an answer
    };

    uint32_t allocate_request_id();
    bool publish_metadata(size_t meter);
    /// What publish_batch did: sent a batch, found nothing to take, or could not publish.
    enum class BatchOutcome { kSent, kNothingTaken, kNotSent };
    BatchOutcome publish_batch(size_t meter, Lane lane);
    /// The next meter, round-robin, with untaken samples in `lane` and not held back.
    std::optional<size_t> next_meter_with(Lane lane);
    void confirm(uint32_t rid);
    void retry(uint32_t rid, const std::string& why);
    void reject(uint32_t rid, int code, const std::string& reason);
    /// The request in flight under `rid`, or null (an id never sent, or already answered).
    Request* find_request(uint32_t rid);
    /// A data batch answered for good (confirmed or refused): its samples are deleted at
    /// the next flush_removals() and counted in `counter`.
    void remove_batch(const Request& req, uint64_t& counter);
    /// A message on `topic`: payload null when it was too large to keep.
    void handle_reply(const std::string& topic, size_t bytes, const std::string* payload);
    void forget(uint32_t rid);
    void hold_meter(size_t meter, int code, const std::string& reason);
    void note_accepted(size_t meter);
    void drop_bad_times(size_t meter, const std::vector<uint64_t>& ids);
    void add_hold();
    /// True while meter `m`'s live readings may still wait for more (kaa.live_window).
    bool live_window_open(size_t m) const;
    /// Notes when each meter's unsent live readings were first seen (kaa.live_window).
    void note_live_readings();
    bool held(size_t meter) const;
    void log_error_reply(const ParsedReply& reply, size_t meter, int code,
                         const std::string& reason);
    /// A reply for no request in flight (an id never sent, answered already, another
    /// token's): counted, and /errors logged under one rate-limit key, never acted on.
    void note_stray_reply(const ParsedReply& reply);
    const Endpoint& endpoint(size_t meter) const { return endpoints_[meter]; }

    UplinkSettings settings_;
    std::vector<Endpoint> endpoints_;
    std::map<std::string, size_t> meter_by_token_;
    MqttClient& mqtt_;
    SampleStore& store_;
    const Clock& clock_;
    Topics topics_;
    bool connected_ = false;
    bool samples_held_ = false;
    std::vector<MetadataState> metadata_;
    std::vector<uint64_t> removals_;  // delivered or rejected, not yet deleted from the store
    std::vector<MeterHold> holds_;
    std::map<uint32_t, Request> in_flight_;
    std::map<int, uint32_t> rid_by_message_id_;
    size_t batches_in_flight_ = 0;
    size_t next_meter_[2] = {0, 0};  // round-robin cursors (live, backlog): every meter's turn
    uint32_t next_request_id_ = 1;
    UplinkCounters counters_;
    LastErrorReply last_error_;
    RateLimiter log_limiter_;
};

}  // namespace kaa::uplink
