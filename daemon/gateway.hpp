#pragma once
// Gateway: the composition root. It builds the buses, the sample store, the MQTT client
// and the uplink from the configuration, and runs the main loop that moves samples and
// MQTT events between them until a stop signal.

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "config/config.hpp"
#include "config/config_loader.hpp"
#include "core/byte_budget.hpp"
#include "core/clock.hpp"
#include "core/clock_watch.hpp"
#include "core/event_queue.hpp"
#include "core/rate_limiter.hpp"
#include "core/sample_sink.hpp"
#include "core/tls_inspector.hpp"
#include "daemon/buffer/sample_store.hpp"
#include "daemon/buffer/spill_store.hpp"
#include "daemon/bus_set.hpp"
#include "daemon/kaa/mqtt_client.hpp"
#include "daemon/service_notifier.hpp"
#include "drivers/modbus/learned_cuts.hpp"
#include "drivers/modbus/meter_jobs.hpp"

namespace kaa {

namespace uplink {
class Uplink;
class OwnEndpoint;
}  // namespace uplink
namespace status {
class StatusServer;
class StatusHttpServer;
class HealthReporter;
struct HostFacts;
}  // namespace status
namespace commands {
class CommandCenter;
class RemoteConfigClient;
struct ApplyOutcome;
}  // namespace commands

namespace events {
struct Connected {};
struct Disconnected {
    std::string reason;
};
struct Message {
    std::string topic;
    std::string payload;         // empty when it was too large to keep
    size_t oversized_bytes = 0;  // the payload's length when it was too large, else 0
};
struct Published {
    int message_id = 0;
};
struct Signal {
    int number = 0;
};
/// A reload's configuration, parsed on the reload thread.
struct Reloaded {
    std::shared_ptr<config::LoadResult> result;
};
/// A command's job ran on its bus (or could not run).
struct CommandDone {
    uint64_t job = 0;
    modbus::MeterJobResult result;
};
}  // namespace events

/// Everything the main loop reacts to, from any thread.
using GatewayEvent =
    std::variant<Sample, MetadataUpdate, events::Connected, events::Disconnected, events::Message,
                 events::Published, events::Signal, events::Reloaded, events::CommandDone>;

/// Options that do not come from the configuration file.
struct GatewayOptions {
    std::string stall_bus_for_tests;  // test hook: this bus's worker hangs after one poll
    // kaa.remote_config: where the applied remote configuration is kept (beside the local
    // file's buffer), and the id of the one in force at start ("" for none).
    std::string remote_config_path;
    std::string remote_config_id;
    // Tells whether the system clock is synchronised; null: the machine's (adjtimex).
    ClockSyncProbe* clock_probe = nullptr;
    // Explains TLS problems (kaa.tls's files, failed handshakes); null: OpenSSL's words only.
    const TlsInspector* tls_inspector = nullptr;
};

/// The running gateway.
class Gateway final : public SampleSink, public uplink::MqttListener {
  public:
    /// Reads time and waits through `clock` (the system clock in the daemon, a simulated
    /// one in tests), which must outlive the gateway.
    Gateway(config::GatewayConfig config, const Clock& clock, GatewayOptions options = {});
    ~Gateway() override;

    /// Runs until SIGTERM or SIGINT (which the caller must have blocked in every thread);
    /// returns the process exit code.
    int run();
    /// Hands a signal to the main loop: SIGTERM/SIGINT stop it, SIGHUP asks for a reload.
    /// Signals go ahead of whatever waits in the queue (a flood of messages, say).
    void post_signal(int number) { queue_.push_front(events::Signal{number}); }

    void submit_sample(Sample sample) override { queue_.push(std::move(sample)); }
    void submit_metadata(MetadataUpdate update) override { queue_.push(std::move(update)); }
    void on_connected() override { queue_.push(events::Connected{}); }
    void on_disconnected(const std::string& reason) override {
        queue_.push(events::Disconnected{reason});
    }
    /// Bounded: a payload over kMaxMessageBytes arrives as its length only, and while the
    /// main loop is kMaxQueuedEvents or kMaxQueuedMessageBytes behind, platform messages
    /// are dropped and counted.
    void on_message(const std::string& topic, std::string_view payload) override;
    void on_published(int message_id) override {
        // Only puback/none deliveries are confirmed by the client; with status the event
        // would cross threads for nothing (a measurable share of CPU per reading).
        if (delivery_ != config::Delivery::kStatus) {
            queue_.push(events::Published{message_id});
        }
    }

  private:
    bool start();
    void open_store();
    void handle(GatewayEvent& event);
    /// SIGHUP: parses the file again on a thread of its own, so that the main loop goes on
    /// meanwhile; the result comes back as an events::Reloaded (gateway_reload.cpp).
    void start_reload();
    /// The reload's parse is done: applies a valid configuration, or reports the errors.
    void finish_reload(const config::LoadResult& loaded);
    /// Stops a reload still parsing (its child is killed) and waits for its thread.
    void cancel_reload();
    /// Applies a valid reloaded configuration: meters to the store and uplink, buses.
    void apply_reload(config::GatewayConfig loaded);
    /// A configuration pushed from Kaa: laid over the local file, validated like a reload,
    /// kept beside the buffer and applied; or refused with every error (gateway_reload.cpp).
    commands::ApplyOutcome apply_remote_config(const std::string& config_id,
                                               const nlohmann::json& pushed);
    void store_samples();
    void report_overflow(uint64_t dropped_before);
    /// Logs (rate-limited) samples lost because neither the buffer nor memory had room.
    void report_lost();
    void feed_watchdog();
    void publish_status();
    /// Opens the status socket (status.socket), when configured (gateway_status.cpp).
    void open_status_socket();
    /// Starts the status page's HTTP server (status.http), when configured.
    void open_status_http();
    /// True when a status socket or page is served.
    bool serving_status() const;
    /// Every second: a new status document for the status socket (gateway_status.cpp).
    void serve_status();
    /// The live state: uplink, buffer, buses and meters (schema: status_render.hpp).
    nlohmann::json status_document();
    /// gateway.token: sets up the gateway's own endpoint (gateway_endpoint.cpp).
    void start_own_endpoint();
    /// Every turn: the own endpoint's metadata on change, a health sample when due, and
    /// whatever of it may be sent now.
    void tend_own_endpoint();
    /// The own endpoint's figures for the status document (null without gateway.token).
    nlohmann::json own_endpoint_status() const;
    /// Sets up the clock watch and takes its first look (gateway_clock.cpp).
    void start_clock_watch();
    /// Every second: the clock's synchronisation; readings wait while it is not, and are
    /// corrected by the step once it is.
    void watch_clock();
    /// The clock as the status shows it.
    nlohmann::json clock_status() const;
    /// Every few seconds: the buffer file deleted or replaced is written again.
    void watch_buffer_file();
    /// fsyncs the buffer's log once its last commits are a sync interval old with no
    /// append since (a quiet spell after a burst): the power-cut window stays bounded.
    void sync_buffer();
    /// Writes the learnt cuts beside the buffer when a bus worker learnt new ones.
    void persist_learned_cuts();
    void shutdown();
    std::optional<Clock::Monotonic> next_wakeup() const;

    // The running configuration, meters in slot order (see config_diff.hpp); bus workers
    // keep the generation they started with alive.
    std::shared_ptr<const config::GatewayConfig> config_;
    std::vector<bool> active_;         // per meter slot: configured now (else removed by a reload)
    const config::Delivery delivery_;  // read by the MQTT thread; never reloaded
    GatewayOptions options_;
    const Clock& clock_;
    EventQueue<GatewayEvent> queue_;
    ServiceNotifier notifier_;
    std::unique_ptr<SampleStore> store_;
    std::unique_ptr<uplink::MqttClient> mqtt_;
    std::unique_ptr<uplink::Uplink> uplink_;
    std::unique_ptr<commands::CommandCenter> commands_;
    std::unique_ptr<commands::RemoteConfigClient> remote_;  // with kaa.remote_config only
    // Samples handed over by the bus workers in this turn, appended to the store at its end.
    // When the buffer refuses writes (disk full) the store keeps them in memory and delivers
    // them from there (SpillingSampleStore); this and the queue_ hand-over are the only
    // places a sample waits outside the store.
    std::vector<BufferedSample> arrived_;
    SpillingSampleStore* spill_ = nullptr;  // store_ when the durable buffer is in use
    bool compacting_ = false;               // the store has delivered rows left to delete
    uint64_t lost_reported_ = 0;            // lost_unstored already logged
    Clock::Monotonic next_file_check_{};
    std::atomic<uint64_t> messages_dropped_{0};  // platform messages refused by on_message
    ByteBudget message_bytes_;                   // bytes of platform messages in queue_
    uint64_t messages_dropped_reported_ = 0;
    uint64_t overflow_unreported_ = 0;  // drops not yet logged (rate-limited)
    RateLimiter log_limiter_;
    bool stopping_ = false;
    bool reload_requested_ = false;  // SIGHUPs since the last reload (coalesced)
    std::thread reload_thread_;      // parsing a reload's file, while joinable
    std::atomic<bool> reload_cancel_{false};
    std::string reload_note_;  // appended to STATUS= after a failed reload
    std::optional<std::chrono::microseconds> watchdog_interval_;
    Clock::Monotonic next_watchdog_;
    Clock::Monotonic next_status_;
    Clock::Monotonic next_status_log_;
    modbus::LearnedCuts learned_cuts_;  // where meters refuse merged reads (bus workers learn)
    std::string learned_cuts_path_;     // beside the buffer; empty when it is not on disk
    uint64_t learned_cuts_saved_ = 0;   // the generation last written
    // The MQTT link as the status shows it.
    struct LinkRecord {
        bool connected = false;
        int64_t since_ms = 0;  // connected (or cut) since
        uint64_t connects = 0;
        std::string last_disconnect;
    };
    LinkRecord link_;
    // A bus's time on the wire, for the measured utilisation (over kUseWindow at least).
    struct BusUse {
        uint64_t busy_us = 0;
        Clock::Monotonic at{};
        std::optional<double> measured;
    };
    std::map<std::string, BusUse> bus_use_;
    std::map<std::string, double> bus_estimate_;  // --check's estimate, per bus
    const config::GatewayConfig* estimated_for_ = nullptr;
    std::unique_ptr<status::StatusServer> status_server_;
    std::unique_ptr<status::StatusHttpServer> status_http_;
    Clock::Monotonic next_status_doc_{};
    std::unique_ptr<ClockSyncProbe> own_clock_probe_;  // when options_ brought none
    std::unique_ptr<ClockWatch> clock_watch_;
    Clock::Monotonic next_clock_check_{};
    std::unique_ptr<uplink::OwnEndpoint> own_;  // with gateway.token only
    std::unique_ptr<status::HealthReporter> health_;
    std::unique_ptr<status::HostFacts> host_;
    Clock::Monotonic next_health_{};
    const config::GatewayConfig* own_metadata_for_ = nullptr;  // the metadata's configuration
    int64_t started_ms_ = 0;
    BusSet buses_;  // last: its workers stop before anything they hand samples to goes
};

}  // namespace kaa
