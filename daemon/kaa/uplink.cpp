// The delivery engine: metadata and sample batches out, confirmations in.
#include "daemon/kaa/uplink.hpp"

#include "daemon/kaa/metadata_parts.hpp"
#include "daemon/kaa/sample_batch.hpp"
#include "daemon/kaa/sample_payload.hpp"

#include <algorithm>
#include <random>

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

namespace kaa::uplink {
namespace {

constexpr const char* kComponent = "kaa";
constexpr uint32_t kMaxRequestId = 0x7fffffff;

}  // namespace

Uplink::Uplink(UplinkSettings settings, std::vector<Endpoint> endpoints, MqttClient& mqtt,
               SampleStore& store, const Clock& clock)
    : settings_(std::move(settings)),
      endpoints_(std::move(endpoints)),
      mqtt_(mqtt),
      store_(store),
      clock_(clock),
      topics_(settings_.app_version),
      metadata_(endpoints_.size()),
      log_limiter_(clock, std::chrono::minutes(1)) {
    for (size_t i = 0; i < endpoints_.size(); ++i) {
        meter_by_token_[endpoints_[i].token] = i;
        add_hold();
    }
    if (settings_.batch == 0)
        settings_.batch = 1;
    if (settings_.max_in_flight == 0)
        settings_.max_in_flight = 1;
}

void Uplink::handle_connected() {
    connected_ = true;
    for (const auto& filter : topics_.reply_filters()) {
        if (auto st = mqtt_.subscribe(filter, 1); !st) {
            spdlog::warn("{}: {}", kComponent, st.error().message);
        }
    }
    // Kaa marks every endpoint of the connection disconnected when it drops; send each
    // meter's metadata again so the platform sees current keys after every connect.
    for (auto& m : metadata_) {
        m.dirty = !m.keys.empty();
        m.full = true;
    }
    // What waited for this connection is backlog: readings taken from now on go first.
    store_.start_live();
    pump();
}

void Uplink::handle_disconnected(const std::string& reason) {
    const bool was_connected = connected_;
    connected_ = false;
    const size_t unconfirmed = in_flight_.size();
    std::vector<uint32_t> rids;
    for (const auto& [rid, req] : in_flight_)
        rids.push_back(rid);
    for (uint32_t rid : rids)
        retry(rid, "");
    if (was_connected) {
        spdlog::warn("{}: connection lost ({}); {} unconfirmed requests will be sent again",
                     kComponent, reason, unconfirmed);
    }
}

uint32_t Uplink::allocate_request_id() {
    // Unique among all outstanding requests, hence among each token's.
    while (true) {
        const uint32_t rid = next_request_id_;
        next_request_id_ = next_request_id_ >= kMaxRequestId ? 1 : next_request_id_ + 1;
        if (in_flight_.find(rid) == in_flight_.end())
            return rid;
    }
}

void Uplink::set_metadata(const MetadataUpdate& update) {
    if (update.meter_index >= metadata_.size() || update.keys.empty())
        return;
    MetadataState& m = metadata_[update.meter_index];
    // Only what changed goes out (a meter's metadata registers are read again every
    // metadata_interval; an unchanged value is not sent again).
    bool changed = false;
    for (auto it = update.keys.begin(); it != update.keys.end(); ++it) {
        const auto known = m.keys.find(it.key());
        if (known != m.keys.end() && *known == it.value())
            continue;
        m.keys[it.key()] = it.value();
        m.changed[it.key()] = it.value();
        changed = true;
    }
    if (changed)
        m.dirty = true;
}

bool Uplink::publish_metadata(size_t meter) {
    MetadataState& m = metadata_[meter];
    m.dirty = false;
    const nlohmann::json keys = m.full ? m.keys : m.changed;
    m.changed = nlohmann::json::object();
    m.full = false;
    for (nlohmann::json& part : split_metadata(keys, settings_.batch_bytes)) {
        std::string payload = part.dump();
        if (payload.size() > settings_.batch_bytes) {
            spdlog::warn(
                "{}: metadata key {} of meter {} is {} bytes, more than buffer.batch_bytes "
                "{}; sent alone",
                kComponent, part.begin().key(), endpoint(meter).meter, payload.size(),
                settings_.batch_bytes);
        }
        const uint32_t rid = allocate_request_id();
        const std::string topic = topics_.metadata_update(endpoint(meter).token, rid);
        auto mid = mqtt_.publish(topic, payload, settings_.qos);
        if (!mid) {
            m.dirty = true;  // all of it again once the parts in flight are answered
            m.full = true;
            spdlog::debug("{}: metadata of meter {} not sent: {}", kComponent,
                          endpoint(meter).meter, mid.error().message);
            return false;
        }
        ++m.parts_in_flight;
        Request req;
        req.extension = Extension::kMetadata;
        req.meter = meter;
        req.message_id = mid.value();
        req.deadline = clock_.now() + settings_.response_timeout;
        for (auto it = part.begin(); it != part.end(); ++it)
            req.keys.push_back(it.key());
        in_flight_.emplace(rid, std::move(req));
        rid_by_message_id_[mid.value()] = rid;
        ++counters_.metadata_published;
        spdlog::debug("{}: sent metadata of meter {} as request {}", kComponent,
                      endpoint(meter).meter, rid);
    }
    return true;
}

Uplink::BatchOutcome Uplink::publish_batch(size_t meter, Lane lane) {
    MeterHold& hold = holds_[meter];
    const size_t want = hold.take == 0 ? settings_.batch : hold.take;
    std::vector<StoredSample> taken = store_.take(meter, want, lane);
    if (taken.empty())
        return BatchOutcome::kNothingTaken;
    SampleBatch batch = build_sample_batch(taken, settings_.batch_bytes, settings_.timestamp);
    // Next time take about what fit, so a wide meter's drain does not take and give back.
    hold.take = batch.left.empty() ? std::min(settings_.batch, want * 2) : batch.sent.size();
    if (!batch.left.empty())
        store_.release(batch.left);
    drop_bad_times(meter, batch.bad_time);
    if (batch.sent.empty())
        return BatchOutcome::kSent;  // only unsendable samples: they are gone, go on
    if (batch.oversized) {
        spdlog::warn(
            "{}: a sample of meter {} is {} bytes, more than buffer.batch_bytes {}; "
            "sent alone",
            kComponent, endpoint(meter).meter, batch.payload.size(), settings_.batch_bytes);
    }
    Request req;
    req.extension = Extension::kDataCollection;
    req.meter = meter;
    req.sample_ids = std::move(batch.sent);
    req.first_read_ms = batch.first_read_ms;
    req.last_read_ms = batch.last_read_ms;

    const uint32_t rid = allocate_request_id();
    auto mid =
        mqtt_.publish(topics_.samples(endpoint(meter).token, rid), batch.payload, settings_.qos);
    if (!mid) {
        store_.release(req.sample_ids);
        spdlog::debug("{}: samples of meter {} not sent: {}", kComponent, endpoint(meter).meter,
                      mid.error().message);
        return BatchOutcome::kNotSent;
    }
    req.message_id = mid.value();
    req.deadline = clock_.now() + settings_.response_timeout;
    rid_by_message_id_[mid.value()] = rid;
    in_flight_.emplace(rid, std::move(req));
    ++batches_in_flight_;
    ++counters_.batches_published;
    return BatchOutcome::kSent;
}

void Uplink::drop_bad_times(size_t meter, const std::vector<uint64_t>& ids) {
    if (ids.empty())
        return;
    removals_.insert(removals_.end(), ids.begin(), ids.end());
    counters_.samples_bad_time += ids.size();
    int suppressed = 0;
    if (log_limiter_.allow("bad-time:" + endpoint(meter).meter, suppressed)) {
        spdlog::error(
            "{}: {} samples of meter {} carry a read time before 1970 or after 2199 "
            "(the clock was wrong when they were read); deleted, not sent ({} so far)",
            kComponent, ids.size(), endpoint(meter).meter, counters_.samples_bad_time);
    }
}

void Uplink::pump() {
    if (!connected_)
        return;
    for (size_t m = 0; m < metadata_.size(); ++m) {
        if (metadata_[m].dirty && metadata_[m].parts_in_flight == 0 && !held(m) &&
            !publish_metadata(m)) {
            return;
        }
    }
    if (samples_held_)
        return;  // the clock is not trusted yet: readings wait (metadata carries no time)
    note_live_readings();
    // Live readings first, every meter in turn; the backlog drains behind them.
    for (Lane lane : {Lane::kLive, Lane::kBacklog}) {
        // A meter whose samples cannot be read now (a read error: the store logged it) is
        // passed over; once every meter came back empty, nothing more can go this turn.
        size_t empty = 0;
        while (batches_in_flight_ < settings_.max_in_flight && empty < endpoints_.size()) {
            const auto chosen = next_meter_with(lane);
            if (!chosen)
                break;
            const BatchOutcome outcome = publish_batch(*chosen, lane);
            if (outcome == BatchOutcome::kNotSent)
                return;
            // The next live reading starts a new window; what a full batch left goes now.
            if (lane == Lane::kLive && !store_.has_pending(*chosen, Lane::kLive))
                holds_[*chosen].live_since.reset();
            empty = outcome == BatchOutcome::kNothingTaken ? empty + 1 : 0;
        }
    }
}

bool Uplink::draining() const {
    if (!connected_ || samples_held_)
        return false;
    for (size_t m = 0; m < endpoints_.size(); ++m) {
        if (store_.has_pending(m, Lane::kBacklog))
            return true;
    }
    return false;
}

std::optional<size_t> Uplink::next_meter_with(Lane lane) {
    size_t& cursor = next_meter_[lane == Lane::kLive ? 0 : 1];
    const size_t meters = endpoints_.size();
    for (size_t step = 0; step < meters; ++step) {
        const size_t m = (cursor + step) % meters;
        if (held(m) || !store_.has_pending(m, lane))
            continue;
        if (lane == Lane::kLive && live_window_open(m))
            continue;
        cursor = (m + 1) % meters;
        return m;
    }
    return std::nullopt;
}

bool Uplink::live_window_open(size_t m) const {
    const std::optional<Clock::Monotonic>& since = holds_[m].live_since;
    return since && clock_.now() < *since + settings_.live_window;
}

void Uplink::note_live_readings() {
    if (settings_.live_window.count() <= 0)
        return;
    const Clock::Monotonic now = clock_.now();
    for (size_t m = 0; m < holds_.size(); ++m) {
        std::optional<Clock::Monotonic>& since = holds_[m].live_since;
        if (!store_.has_pending(m, Lane::kLive))
            since.reset();
        else if (!since)
            since = now;
    }
}

void Uplink::forget(uint32_t rid) {
    auto it = in_flight_.find(rid);
    if (it == in_flight_.end())
        return;
    if (it->second.extension == Extension::kDataCollection)
        --batches_in_flight_;
    rid_by_message_id_.erase(it->second.message_id);
    in_flight_.erase(it);
}

// Every meter's hold has its own backoff, so one failing meter never delays another.
void Uplink::add_hold() {
    const uint64_t meter = holds_.size();
    const uint64_t seed =
        settings_.retry_seed ? *settings_.retry_seed + meter : std::random_device{}();
    holds_.push_back(
        MeterHold(Backoff(settings_.retry_min_delay, settings_.retry_max_delay, seed)));
}

bool Uplink::held(size_t meter) const {
    const auto& until = holds_[meter].until;
    return until && clock_.now() < *until;
}

void Uplink::handle_published(int message_id) {
    auto it = rid_by_message_id_.find(message_id);
    if (it == rid_by_message_id_.end())
        return;
    if (settings_.delivery != config::Delivery::kStatus)
        confirm(it->second);
}

void Uplink::flush_removals() {
    if (removals_.empty()) {
        return;
    }
    if (auto st = store_.remove(removals_); !st) {
        // Kept and tried again next turn (a full disk may have room again); should the
        // process stop first, they are sent again after the restart: duplicates, not losses.
        int suppressed = 0;
        if (log_limiter_.allow("remove", suppressed)) {
            spdlog::error("{}: cannot delete {} delivered samples from the buffer yet: {}",
                          kComponent, removals_.size(), st.error().message);
        }
        return;
    }
    removals_.clear();
}

void Uplink::check_timeouts() {
    const auto now = clock_.now();
    std::vector<uint32_t> overdue;
    for (const auto& [rid, req] : in_flight_) {
        if (req.deadline <= now)
            overdue.push_back(rid);
    }
    const auto seconds =
        std::chrono::duration_cast<std::chrono::milliseconds>(settings_.response_timeout).count() /
        1000.0;
    for (uint32_t rid : overdue) {
        retry(rid, fmt::format("no confirmation within {}s", seconds));
    }
}

std::optional<Clock::Monotonic> Uplink::next_deadline() const {
    std::optional<Clock::Monotonic> earliest;
    for (const auto& [rid, req] : in_flight_) {
        if (!earliest || req.deadline < *earliest)
            earliest = req.deadline;
    }
    for (size_t m = 0; m < holds_.size(); ++m) {
        if (held(m) && (!earliest || *holds_[m].until < *earliest))
            earliest = holds_[m].until;
    }
    // Live readings waiting for company go when their window closes, if they can go then.
    if (connected_ && !samples_held_ && batches_in_flight_ < settings_.max_in_flight) {
        for (size_t m = 0; m < holds_.size(); ++m) {
            const auto& since = holds_[m].live_since;
            if (!since || held(m) || !store_.has_pending(m, Lane::kLive))
                continue;
            const Clock::Monotonic due = *since + settings_.live_window;
            if (!earliest || due < *earliest)
                earliest = due;
        }
    }
    return earliest;
}

void Uplink::set_endpoint(size_t meter, Endpoint endpoint) {
    if (meter > endpoints_.size())
        return;
    if (meter == endpoints_.size()) {
        endpoints_.push_back(Endpoint{});
        metadata_.emplace_back();
        add_hold();
    }
    // Replies to requests sent under the old token still find their meter.
    meter_by_token_[endpoint.token] = meter;
    endpoints_[meter] = std::move(endpoint);
    metadata_[meter].keys = nlohmann::json::object();
    metadata_[meter].changed = nlohmann::json::object();
    metadata_[meter].dirty = false;
    metadata_[meter].full = true;
}

void Uplink::retire_endpoint(size_t meter) {
    if (meter >= metadata_.size())
        return;
    metadata_[meter].keys = nlohmann::json::object();
    metadata_[meter].dirty = false;
}

}  // namespace kaa::uplink
