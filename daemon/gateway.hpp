#pragma once
// Gateway: the composition root. It builds the buses, the sample store, the MQTT client
// and the uplink from the configuration, and runs the main loop that moves samples and
// MQTT events between them until a stop signal.

#include <atomic>
#include <deque>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "config/config.hpp"
#include "daemon/core/clock.hpp"
#include "daemon/core/event_queue.hpp"
#include "daemon/core/sample_sink.hpp"
#include "daemon/kaa/mqtt_client.hpp"

namespace kaa {

namespace events {
struct Connected {};
struct Disconnected {
    std::string reason;
};
struct Message {
    std::string topic;
    std::string payload;
};
struct Published {
    int message_id = 0;
};
struct Signal {
    int number = 0;
};
}  // namespace events

/// Everything the main loop reacts to, from any thread.
using GatewayEvent = std::variant<Sample, MetadataUpdate, events::Connected, events::Disconnected,
                                  events::Message, events::Published, events::Signal>;

/// The running gateway.
class Gateway final : public SampleSink, public uplink::MqttListener {
public:
    explicit Gateway(config::GatewayConfig config);
    ~Gateway() override;

    /// Runs until SIGTERM or SIGINT (which the caller must have blocked in every thread);
    /// returns the process exit code.
    int run();
    /// Hands a signal to the main loop: SIGTERM/SIGINT stop it, SIGHUP asks for a reload.
    void post_signal(int number) { queue_.push(events::Signal{number}); }

    void submit_sample(Sample sample) override { queue_.push(std::move(sample)); }
    void submit_metadata(MetadataUpdate update) override { queue_.push(std::move(update)); }
    void on_connected() override { queue_.push(events::Connected{}); }
    void on_disconnected(const std::string& reason) override {
        queue_.push(events::Disconnected{reason});
    }
    void on_message(const std::string& topic, const std::string& payload) override {
        queue_.push(events::Message{topic, payload});
    }
    void on_published(int message_id) override { queue_.push(events::Published{message_id}); }

private:
    config::GatewayConfig config_;
    SystemClock clock_;
    EventQueue<GatewayEvent> queue_;
};

/// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread (and the threads it starts
/// later) and starts a thread that turns them into events on `gateway`.
void route_signals_to(Gateway& gateway);

}  // namespace kaa
