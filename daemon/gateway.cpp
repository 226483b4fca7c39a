// The composition root and main loop.
#include "daemon/gateway.hpp"

#include <algorithm>
#include <csignal>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "daemon/buffer/memory_sample_store.hpp"
#include "daemon/buffer/sample_record.hpp"
#include "daemon/buffer/sqlite/sqlite_sample_store.hpp"
#include "daemon/commands/command_center.hpp"
#include "daemon/commands/remote_config.hpp"
#include "daemon/kaa/mosquitto_client.hpp"
#include "daemon/kaa/own_endpoint.hpp"
#include "daemon/kaa/uplink.hpp"
#include "daemon/learned_cuts_file.hpp"
#include "daemon/status/health_report.hpp"
#include "daemon/status/http/status_http.hpp"
#include "daemon/status/status_socket.hpp"

namespace kaa {
namespace {

constexpr const char* kComponent = "gateway";
// When the buffer file cannot be used, samples wait in memory within this budget.
constexpr uint64_t kMemoryBudgetBytes = 32ull * 1024 * 1024;
// Samples read while the buffer refuses writes (disk full) wait in memory within this
// budget (about 200,000 samples: hours of readings at typical rates), then the oldest go
// and are counted.
constexpr uint64_t kSpillBudgetBytes = 32ull * 1024 * 1024;
// How long the main loop lets a burst of samples or replies gather before handling it.
constexpr auto kRoundWindow = std::chrono::milliseconds(50);
// Rows of delivered samples deleted per main-loop turn: about 10-20 ms of SQLite work.
constexpr size_t kCompactRows = 5000;
constexpr auto kStatusInterval = std::chrono::seconds(5);
// Platform messages: a payload larger than this is not kept (a /status or /error is a few
// hundred bytes), and while this many events, or this many bytes of messages, wait for the
// main loop, messages are dropped (a dropped reply only means its batch is sent again after
// kaa.response_timeout; samples are never dropped here). Together they bound the queue's
// memory under a flood: without the byte bound 20,000 messages of 64 KiB would be 1.3 GB.
constexpr size_t kMaxMessageBytes = 64 * 1024;
constexpr size_t kMaxQueuedEvents = 20'000;
constexpr size_t kMaxQueuedMessageBytes = 8 * 1024 * 1024;
constexpr auto kStatusLogInterval = std::chrono::minutes(15);

uplink::MosquittoOptions mqtt_options(const config::KaaConfig& kaa,
                                      const TlsInspector* tls_inspector) {
    uplink::MosquittoOptions o;
    o.tls_inspector = tls_inspector;
    o.host = kaa.host;
    o.port = kaa.port;
    o.client_id = kaa.client_id;
    o.keepalive_s =
        static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(kaa.keepalive).count());
    if (kaa.tls) {
        o.tls = true;
        o.ca_file = kaa.tls->ca_file;
        o.cert_file = kaa.tls->cert_file;
        o.key_file = kaa.tls->key_file;
    }
    if (kaa.auth) {
        o.username = kaa.auth->username;
        o.password_file = kaa.auth->password_file;
    }
    o.min_delay = kaa.reconnect.min_delay;
    o.max_delay = kaa.reconnect.max_delay;
    return o;
}

uplink::UplinkSettings uplink_settings(const config::GatewayConfig& config) {
    uplink::UplinkSettings s;
    s.app_version = config.kaa.app_version;
    s.qos = config.kaa.qos;
    s.delivery = config.kaa.delivery;
    s.response_timeout = config.kaa.response_timeout;
    s.batch = static_cast<size_t>(config.buffer.batch);
    s.batch_bytes = static_cast<size_t>(config.buffer.batch_bytes);
    s.timestamp = config.kaa.timestamp;
    s.max_in_flight = static_cast<size_t>(config.kaa.max_in_flight);
    s.live_window = config.kaa.live_window;
    return s;
}

}  // namespace

Gateway::Gateway(config::GatewayConfig config, const Clock& clock, GatewayOptions options)
    : config_(std::make_shared<const config::GatewayConfig>(std::move(config))),
      active_(config_->meters.size(), true),
      delivery_(config_->kaa.delivery),
      options_(std::move(options)),
      clock_(clock),
      queue_(clock_),
      message_bytes_(kMaxQueuedMessageBytes),
      log_limiter_(clock_, std::chrono::minutes(1)),
      buses_(clock_, *this, learned_cuts_, options_.stall_bus_for_tests) {}

Gateway::~Gateway() {
    cancel_reload();  // a start() that failed half-way never reaches shutdown()
}

void Gateway::on_message(const std::string& topic, std::string_view payload) {
    const bool oversized = payload.size() > kMaxMessageBytes;
    const size_t bytes =
        std::min(topic.size(), kMaxMessageBytes) + (oversized ? 0 : payload.size());
    if (!message_bytes_.take(bytes)) {
        ++messages_dropped_;
        return;
    }
    events::Message message{topic.substr(0, kMaxMessageBytes), {}, 0};
    if (oversized)
        message.oversized_bytes = payload.size();
    else
        message.payload = payload;
    if (!queue_.push_if_below(std::move(message), kMaxQueuedEvents)) {
        message_bytes_.give_back(bytes);
        ++messages_dropped_;
    }
}

bool Gateway::start() {
    const config::GatewayConfig& config = *config_;
    const size_t meter_count = config.meters.size();
    started_ms_ = clock_.wall_ms();
    open_store();

    std::vector<uplink::Endpoint> endpoints;
    for (const auto& m : config.meters)
        endpoints.push_back({m.name, m.token});
    mqtt_ = std::make_unique<uplink::MosquittoClient>(
        mqtt_options(config.kaa, options_.tls_inspector), clock_);
    uplink_ = std::make_unique<uplink::Uplink>(uplink_settings(config), std::move(endpoints),
                                               *mqtt_, *store_, clock_);
    for (size_t m = 0; m < meter_count; ++m) {
        uplink_->set_metadata(MetadataUpdate{m, config.meters[m].metadata});
    }
    commands::CommandSettings command_settings;
    command_settings.app_version = config.kaa.app_version;
    command_settings.qos = config.kaa.qos;
    command_settings.response_timeout = config.kaa.response_timeout;
    commands_ = std::make_unique<commands::CommandCenter>(
        command_settings, *mqtt_, buses_, clock_, [this](uint64_t job, modbus::MeterJobResult r) {
            queue_.push(events::CommandDone{job, std::move(r)});
        });
    commands_->set_meters(config_, active_);
    if (config.kaa.remote_config && !config.gateway.token.empty()) {
        remote_ = std::make_unique<commands::RemoteConfigClient>(
            config.kaa.app_version, config.gateway.token, config.kaa.qos, *mqtt_, clock_,
            [this](const std::string& id, const nlohmann::json& pushed) {
                return apply_remote_config(id, pushed);
            });
        remote_->set_applied(options_.remote_config_id);
    }

    if (auto st = mqtt_->start(this); !st) {
        spdlog::critical("{}: {}", kComponent, st.error().message);
        return false;
    }
    start_clock_watch();
    buses_.start_all(config_, active_);
    open_status_socket();
    open_status_http();
    start_own_endpoint();
    spdlog::info(
        "{}: started with {} buses and {} meters; publishing to {}:{} as application "
        "version {}",
        kComponent, buses_.size(), meter_count, config.kaa.host, config.kaa.port,
        config.kaa.app_version);

    const auto now = clock_.now();
    watchdog_interval_ = notifier_.watchdog_interval();
    next_watchdog_ = now;
    next_status_ = now;
    next_status_log_ = now + kStatusLogInterval;
    notifier_.ready();
    return true;
}

void Gateway::open_store() {
    const config::GatewayConfig& config = *config_;
    SqliteStoreOptions options;
    options.path = config.buffer.path;
    for (const auto& m : config.meters)
        options.meter_names.push_back(m.name);
    options.max_bytes = config.buffer.max_size_bytes;
    options.overflow = config.buffer.overflow;
    auto opened = SqliteSampleStore::open(options);
    if (opened) {
        const auto waiting = opened.value()->stats().samples;
        spdlog::info("{}: buffer {} open; {} samples from earlier runs wait for delivery",
                     kComponent, config.buffer.path, waiting);
        auto spill = std::make_unique<SpillingSampleStore>(
            std::move(opened.value()), config.meters.size(), kSpillBudgetBytes, clock_);
        spill_ = spill.get();
        store_ = std::move(spill);
        learned_cuts_path_ = learned_cuts_path(config.buffer.path);
        if (auto cuts = load_learned_cuts(learned_cuts_path_)) {
            learned_cuts_.replace(std::move(cuts.value()));
        } else {
            spdlog::warn("{}: {}; meters' refused reads are learnt again", kComponent,
                         cuts.error().message);
        }
        learned_cuts_saved_ = learned_cuts_.generation();
        return;
    }
    // Polling must go on: keep samples in memory and say loudly what is wrong.
    spdlog::error(
        "{}: {}; samples are kept in memory only (up to {} MiB) and are lost if the "
        "daemon stops: fix buffer.path or the disk and restart",
        kComponent, opened.error().message, kMemoryBudgetBytes >> 20);
    store_ = std::make_unique<MemorySampleStore>(
        config.meters.size(), std::min(config.buffer.max_size_bytes, kMemoryBudgetBytes),
        config.buffer.overflow);
    spill_ = nullptr;
}

std::optional<Clock::Monotonic> Gateway::next_wakeup() const {
    Clock::Monotonic wake = next_status_;
    if (serving_status() && next_status_doc_ < wake)
        wake = next_status_doc_;
    if (watchdog_interval_ && next_watchdog_ < wake)
        wake = next_watchdog_;
    if (next_file_check_ < wake)
        wake = next_file_check_;
    if (auto d = uplink_->next_deadline(); d && *d < wake)
        wake = *d;
    if (next_clock_check_ < wake)
        wake = next_clock_check_;
    if (own_ && !clock_watch_->holding() && next_health_ < wake)
        wake = next_health_;
    if (auto d = own_ ? own_->next_deadline() : std::nullopt; d && *d < wake)
        wake = *d;
    if (auto due = store_->sync_due(); due && *due < wake)
        wake = *due;
    if (compacting_)
        wake = clock_.now();  // more rows to delete: next step at once
    return wake;
}

void Gateway::handle(GatewayEvent& event) {
    if (auto* s = std::get_if<Sample>(&event)) {
        s->read_ms = clock_watch_->restamp(s->read_ms, s->read_mono_ms);
        arrived_.push_back(buffer::to_buffered(*s));
    } else if (auto* md = std::get_if<MetadataUpdate>(&event)) {
        uplink_->set_metadata(*md);
    } else if (std::holds_alternative<events::Connected>(event)) {
        link_.connected = true;
        link_.since_ms = clock_.wall_ms();
        ++link_.connects;
        uplink_->handle_connected();
        commands_->handle_connected();
        if (remote_)
            remote_->handle_connected();
        if (own_)
            own_->handle_connected();
    } else if (auto* d = std::get_if<events::Disconnected>(&event)) {
        link_.connected = false;
        link_.since_ms = clock_.wall_ms();
        link_.last_disconnect = d->reason;
        uplink_->handle_disconnected(d->reason);
        commands_->handle_disconnected();
        if (own_)
            own_->handle_disconnected();
    } else if (auto* msg = std::get_if<events::Message>(&event)) {
        message_bytes_.give_back(msg->topic.size() + msg->payload.size());
        if (msg->oversized_bytes > 0)
            uplink_->handle_oversized_message(msg->topic, msg->oversized_bytes);
        else if (remote_ && remote_->handle_message(msg->topic, msg->payload))
            ;  // the gateway's own configuration
        else if (own_ && own_->handle_reply(msg->topic, msg->payload))
            ;  // an answer about the gateway's own metadata or health
        else if (!commands_->handle_message(msg->topic, msg->payload))
            uplink_->handle_message(msg->topic, msg->payload);
    } else if (auto* p = std::get_if<events::Published>(&event)) {
        uplink_->handle_published(p->message_id);
    } else if (auto* done = std::get_if<events::CommandDone>(&event)) {
        commands_->finish(done->job, std::move(done->result));
    } else if (auto* reloaded = std::get_if<events::Reloaded>(&event)) {
        if (!stopping_)
            finish_reload(*reloaded->result);
    } else if (auto* sig = std::get_if<events::Signal>(&event)) {
        if (sig->number == SIGHUP) {
            reload_requested_ = true;  // one reload for however many arrived meanwhile
        } else {
            spdlog::info("{}: stopping (signal {})", kComponent, sig->number);
            stopping_ = true;
        }
    }
}

void Gateway::store_samples() {
    if (arrived_.empty()) {
        return;
    }
    const uint64_t dropped_before = store_->stats().dropped_overflow;
    if (auto st = store_->append(arrived_); !st)
        spdlog::error("{}: {}", kComponent, st.error().message);  // a bug: an unknown meter
    arrived_.clear();
    report_overflow(dropped_before);
    report_lost();
}

void Gateway::report_lost() {
    const uint64_t lost = store_->stats().lost_unstored;
    int suppressed = 0;
    if (lost == lost_reported_ || !log_limiter_.allow("lost", suppressed))
        return;
    spdlog::error(
        "{}: {} samples lost: the buffer refuses writes and memory holds {} MiB at most ({} "
        "lost since start)",
        kComponent, lost - lost_reported_, kSpillBudgetBytes >> 20, lost);
    lost_reported_ = lost;
}

void Gateway::report_overflow(uint64_t dropped_before) {
    const uint64_t dropped = store_->stats().dropped_overflow;
    overflow_unreported_ += dropped - dropped_before;
    int suppressed = 0;
    if (overflow_unreported_ == 0 || !log_limiter_.allow("overflow", suppressed)) {
        return;
    }
    spdlog::warn(
        "{}: the buffer is full (buffer.max_size {} MiB): dropped {} {} samples ({} "
        "dropped since start)",
        kComponent, config_->buffer.max_size_bytes >> 20, overflow_unreported_,
        config_->buffer.overflow == config::Overflow::kDropOldest ? "oldest" : "newest", dropped);
    overflow_unreported_ = 0;
}

void Gateway::feed_watchdog() {
    if (!watchdog_interval_ || clock_.now() < next_watchdog_)
        return;
    next_watchdog_ = clock_.now() + *watchdog_interval_;
    // The main loop is alive (it is running this); every bus worker must have moved too.
    std::string stalled;
    if (!buses_.all_progressed(stalled)) {
        spdlog::error(
            "{}: the worker of bus {} made no progress; withholding the watchdog "
            "ping so that systemd restarts the service",
            kComponent, stalled);
        return;
    }
    notifier_.watchdog();
}

void Gateway::publish_status() {
    const auto now = clock_.now();
    if (now < next_status_)
        return;
    next_status_ = now + kStatusInterval;
    if (const uint64_t dropped = messages_dropped_.load(); dropped > messages_dropped_reported_) {
        spdlog::warn(
            "{}: {} messages from the platform dropped while the main loop was behind "
            "({} events or {} MiB of messages waiting; {} since start); their batches are "
            "sent again",
            kComponent, dropped - messages_dropped_reported_, kMaxQueuedEvents,
            kMaxQueuedMessageBytes >> 20, dropped);
        messages_dropped_reported_ = dropped;
    }
    const size_t meters = buses_.meter_count();
    const size_t failing = buses_.failing_meters();
    const auto& c = uplink_->counters();
    const auto stats = store_->stats();
    std::string text = fmt::format(
        "{} to {}:{}; meters {} ok, {} failing; {} samples waiting; {} delivered{}",
        uplink_->connected() ? "connected" : "NOT connected", config_->kaa.host, config_->kaa.port,
        meters - failing, failing, stats.samples, c.samples_delivered, reload_note_);
    if (spill_ != nullptr && spill_->in_memory() > 0)
        text += fmt::format("; {} only in memory (the buffer refuses writes)", spill_->in_memory());
    notifier_.status(text);
    if (now >= next_status_log_) {
        next_status_log_ = now + kStatusLogInterval;
        spdlog::info(
            "{}: {}; {} rejected by Kaa; {} dropped because the buffer was full; {} lost "
            "because the buffer refused writes and memory was full",
            kComponent, text, c.samples_rejected, stats.dropped_overflow, stats.lost_unstored);
    }
}

int Gateway::run() {
    if (!start())
        return 1;
    std::deque<GatewayEvent> events;
    while (!stopping_) {
        queue_.wait_drain(events, next_wakeup());
        // Samples of a poll round and Kaa's answers come in bursts: let the rest of a burst
        // arrive, so it is stored in one transaction and handled in one turn instead of one
        // wake-up (and one SQLite commit) per event. Not while a backlog drains: there each
        // answer frees a slot for the next batch, and waiting would only slow the drain.
        const bool burst =
            !uplink_->draining() && std::any_of(events.begin(), events.end(), [](const auto& e) {
                return std::holds_alternative<Sample>(e) ||
                       std::holds_alternative<events::Message>(e);
            });
        if (burst && !stopping_) {
            queue_.wait_drain(events, std::optional<Clock::Monotonic>(clock_.now() + kRoundWindow),
                              /*until_deadline=*/true);
        }
        for (auto& event : events)
            handle(event);
        events.clear();
        if (reload_requested_ && !stopping_ && !reload_thread_.joinable()) {
            reload_requested_ = false;  // a SIGHUP during the parse starts another after it
            start_reload();
        }
        store_samples();
        watch_clock();  // after store_samples: a sync's shift covers what was just stored
        uplink_->check_timeouts();
        commands_->check_timeouts();
        uplink_->pump();
        uplink_->flush_removals();
        tend_own_endpoint();
        // Rows of delivered samples are deleted in small steps, never while a backlog
        // drains: that work would only slow the drain down.
        compacting_ = !uplink_->draining() && store_->compact(kCompactRows);
        feed_watchdog();
        publish_status();
        serve_status();
        watch_buffer_file();
        sync_buffer();
        persist_learned_cuts();
    }
    shutdown();
    return 0;
}

void Gateway::shutdown() {
    notifier_.stopping();
    cancel_reload();
    buses_.stop_all();
    persist_learned_cuts();
    // Keep what the workers read before they stopped.
    std::deque<GatewayEvent> events;
    queue_.wait_drain(events, std::optional<Clock::Monotonic>(clock_.now()));
    for (auto& event : events) {
        if (auto* s = std::get_if<Sample>(&event)) {
            arrived_.push_back(buffer::to_buffered(*s));
        }
    }
    store_samples();
    mqtt_->stop();
    uplink_->flush_removals();
    const uint64_t lost = spill_ != nullptr ? spill_->flush_at_stop() : store_->stats().samples;
    const uint64_t waiting = store_->stats().samples - lost;
    if (spill_ != nullptr && waiting > 0) {
        spdlog::info("{}: {} samples wait in the buffer for the next start", kComponent, waiting);
    }
    if (lost > 0) {
        spdlog::warn("{}: {} samples were kept only in memory and are lost at shutdown", kComponent,
                     lost);
    }
    spdlog::info("{}: stopped; {} samples delivered in this run", kComponent,
                 uplink_->counters().samples_delivered);
}

}  // namespace kaa
