// The gateway's own endpoint: its metadata and health samples, sent and confirmed.
#include "daemon/kaa/own_endpoint.hpp"

#include <spdlog/spdlog.h>

#include "daemon/kaa/error_policy.hpp"
#include "daemon/kaa/sample_payload.hpp"

namespace kaa::uplink {
namespace {

constexpr const char* kOwnLog = "gateway-endpoint";
/// Health samples per DCX publish at most (a day's worth after an outage goes in 15).
constexpr size_t kOwnBatch = 100;
/// After a refusal that may pass (5xx, 401, 404...): samples wait this long.
constexpr auto kOwnRetryDelay = std::chrono::seconds(30);

}  // namespace

OwnEndpoint::OwnEndpoint(OwnEndpointSettings settings, MqttClient& mqtt, const Clock& clock)
    : settings_(std::move(settings)),
      mqtt_(mqtt),
      clock_(clock),
      topics_(settings_.app_version),
      log_limiter_(clock, std::chrono::minutes(10)) {
    if (settings_.max_waiting == 0)
        settings_.max_waiting = 1;
}

uint32_t OwnEndpoint::next_request_id() {
    request_id_ = request_id_ >= 0x7fffffffU ? 1 : request_id_ + 1;
    return request_id_;
}

void OwnEndpoint::handle_connected() {
    connected_ = true;
    metadata_dirty_ = !keys_.empty();  // Kaa sees every key again after each connect
    sent_keys_ = nlohmann::json::object();
    pump();
}

void OwnEndpoint::handle_disconnected() {
    connected_ = false;
    metadata_in_flight_.reset();
    metadata_dirty_ = !keys_.empty();
    samples_in_flight_.reset();
    in_flight_samples_ = 0;
}

void OwnEndpoint::set_metadata(const nlohmann::json& keys) {
    if (keys == keys_)
        return;
    keys_ = keys;
    metadata_dirty_ = true;
}

void OwnEndpoint::add_sample(int64_t read_ms, const nlohmann::json& values) {
    if (!read_time_in_range(read_ms))
        return;  // a clock before 1970: nothing Kaa could file
    std::string sample = "{\"" + settings_.timestamp.key + "\":";
    append_read_time(sample, read_ms, settings_.timestamp.format);
    for (auto it = values.begin(); it != values.end(); ++it) {
        if (it.key() == settings_.timestamp.key || it->is_null())
            continue;
        sample += ',' + nlohmann::json(it.key()).dump() + ':' +
                  it->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
    sample += '}';
    waiting_.push_back(std::move(sample));
    // Past the bound the oldest one not in flight goes.
    if (waiting_.size() > settings_.max_waiting && waiting_.size() > in_flight_samples_) {
        waiting_.erase(waiting_.begin() + static_cast<std::ptrdiff_t>(in_flight_samples_));
        ++counters_.samples_dropped;
    }
}

void OwnEndpoint::pump() {
    if (!connected_)
        return;
    if (metadata_dirty_ && !metadata_in_flight_)
        publish_metadata();
    if (retry_at_ && clock_.now() >= *retry_at_)
        retry_at_.reset();
    if (!samples_in_flight_ && !waiting_.empty() && !retry_at_)
        publish_samples();
}

void OwnEndpoint::publish_metadata() {
    // Only the keys Kaa does not have yet (all of them after a connect).
    nlohmann::json changed = nlohmann::json::object();
    for (auto it = keys_.begin(); it != keys_.end(); ++it) {
        const auto known = sent_keys_.find(it.key());
        if (known == sent_keys_.end() || *known != it.value())
            changed[it.key()] = it.value();
    }
    metadata_dirty_ = false;
    if (changed.empty())
        return;
    const uint32_t rid = next_request_id();
    auto mid = mqtt_.publish(topics_.metadata_update(settings_.token, rid),
                             changed.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                             settings_.qos);
    if (!mid) {
        metadata_dirty_ = true;
        return;
    }
    ++counters_.metadata_sent;
    metadata_payload_ = std::move(changed);
    if (!settings_.await_status) {
        metadata_done(true);
        return;
    }
    metadata_in_flight_ = Pending{rid, clock_.now() + settings_.response_timeout};
}

void OwnEndpoint::publish_samples() {
    const size_t count = std::min(kOwnBatch, waiting_.size());
    std::string payload = "[";
    for (size_t i = 0; i < count; ++i) {
        if (i > 0)
            payload += ',';
        payload += waiting_[i];
    }
    payload += ']';
    const uint32_t rid = next_request_id();
    auto mid = mqtt_.publish(topics_.samples(settings_.token, rid), payload, settings_.qos);
    if (!mid)
        return;
    counters_.samples_sent += count;
    in_flight_samples_ = count;
    if (!settings_.await_status) {
        samples_done(Outcome::kConfirmed);
        return;
    }
    samples_in_flight_ = Pending{rid, clock_.now() + settings_.response_timeout};
}

void OwnEndpoint::samples_done(Outcome outcome) {
    if (outcome != Outcome::kAgain) {
        (outcome == Outcome::kConfirmed ? counters_.samples_confirmed
                                        : counters_.samples_dropped) += in_flight_samples_;
        waiting_.erase(waiting_.begin(),
                       waiting_.begin() + static_cast<std::ptrdiff_t>(in_flight_samples_));
        retry_at_.reset();
    }
    samples_in_flight_.reset();
    in_flight_samples_ = 0;
}

void OwnEndpoint::metadata_done(bool confirmed) {
    if (confirmed) {
        ++counters_.metadata_confirmed;
        for (auto it = metadata_payload_.begin(); it != metadata_payload_.end(); ++it)
            sent_keys_[it.key()] = it.value();
    } else {
        metadata_dirty_ = true;
    }
    metadata_in_flight_.reset();
    metadata_payload_ = nlohmann::json::object();
}

bool OwnEndpoint::handle_reply(const std::string& topic, const std::string& payload) {
    const auto reply = topics_.parse_reply(topic);
    if (!reply || reply->token != settings_.token)
        return false;
    const bool metadata = reply->extension == Extension::kMetadata;
    std::optional<Pending>& pending = metadata ? metadata_in_flight_ : samples_in_flight_;
    if (!pending || pending->request_id != reply->request_id)
        return true;  // an answer to nothing in flight: ours, and ignored
    if (reply->success) {
        if (metadata)
            metadata_done(true);
        else
            samples_done(Outcome::kConfirmed);
        pump();
        return true;
    }
    ++counters_.errors_received;
    int code = 0;
    std::string reason;
    if (payload.size() <= 64 * 1024)
        parse_error_payload(payload, code, reason);
    else
        reason = "an error reply too large to read";
    const bool drop = action_for_status(code) == ErrorAction::kDrop;
    int suppressed = 0;
    if (log_limiter_.allow(metadata ? "metadata" : "samples", suppressed)) {
        spdlog::warn("{}: Kaa refused the gateway's {} (token {}): {} {}; {}", kOwnLog,
                     metadata ? "metadata" : "health samples", settings_.token, code, reason,
                     drop ? "dropped" : "sent again later");
    }
    if (metadata) {
        metadata_done(drop);  // a refused payload is not sent again until it changes
    } else if (drop) {
        samples_done(Outcome::kDropped);
    } else {
        samples_done(Outcome::kAgain);
        retry_at_ = clock_.now() + kOwnRetryDelay;
    }
    return true;
}

void OwnEndpoint::check_timeouts() {
    const auto now = clock_.now();
    if (metadata_in_flight_ && now >= metadata_in_flight_->deadline)
        metadata_done(false);
    if (samples_in_flight_ && now >= samples_in_flight_->deadline)
        samples_done(Outcome::kAgain);
    pump();
}

std::optional<Clock::Monotonic> OwnEndpoint::next_deadline() const {
    std::optional<Clock::Monotonic> next;
    auto consider = [&](Clock::Monotonic t) {
        if (!next || t < *next)
            next = t;
    };
    if (metadata_in_flight_)
        consider(metadata_in_flight_->deadline);
    if (samples_in_flight_)
        consider(samples_in_flight_->deadline);
    if (retry_at_ && !waiting_.empty() && connected_)
        consider(*retry_at_);
    return next;
}

}  // namespace kaa::uplink
