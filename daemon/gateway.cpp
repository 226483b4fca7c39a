// The composition root and main loop.
#include "daemon/gateway.hpp"

#include <csignal>
#include <fstream>
#include <pthread.h>

#include <spdlog/spdlog.h>

#include "daemon/kaa/mosquitto_client.hpp"
#include "daemon/kaa/uplink.hpp"
#include "daemon/memory_sample_store.hpp"
#include "drivers/modbus/bus_worker.hpp"
#include "drivers/modbus/libmodbus_transport.hpp"

namespace kaa {
namespace {

constexpr const char* kComponent = "gateway";
// Until the durable buffer lands, samples wait in memory within this budget.
constexpr uint64_t kMemoryBudgetBytes = 32ull * 1024 * 1024;
constexpr auto kStatusInterval = std::chrono::minutes(5);

/// Reads the password file's first line; the password itself never reaches a log.
std::string read_password(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
    return line;
}

uplink::MosquittoOptions mqtt_options(const config::KaaConfig& kaa) {
    uplink::MosquittoOptions o;
    o.host = kaa.host;
    o.port = kaa.port;
    o.client_id = kaa.client_id;
    o.keepalive_s = static_cast<int>(
        std::chrono::duration_cast<std::chrono::seconds>(kaa.keepalive).count());
    if (kaa.tls) {
        o.tls = true;
        o.ca_file = kaa.tls->ca_file;
        o.cert_file = kaa.tls->cert_file;
        o.key_file = kaa.tls->key_file;
    }
    if (kaa.auth) {
        o.username = kaa.auth->username;
        o.password = read_password(kaa.auth->password_file);
    }
    o.min_delay = kaa.reconnect.min_delay;
    o.max_delay = kaa.reconnect.max_delay;
    return o;
}

}  // namespace

Gateway::Gateway(config::GatewayConfig config) : config_(std::move(config)) {}

Gateway::~Gateway() = default;

int Gateway::run() {
    const size_t meter_count = config_.meters.size();
    MemorySampleStore store(meter_count, std::min(config_.buffer.max_size_bytes, kMemoryBudgetBytes),
                            config_.buffer.overflow);

    std::vector<uplink::Endpoint> endpoints;
    for (const auto& m : config_.meters) endpoints.push_back({m.name, m.token});
    uplink::UplinkSettings settings;
    settings.app_version = config_.kaa.app_version;
    settings.qos = config_.kaa.qos;
    settings.delivery = config_.kaa.delivery;
    settings.response_timeout = config_.kaa.response_timeout;
    settings.batch = static_cast<size_t>(config_.buffer.batch);

    uplink::MosquittoClient mqtt(mqtt_options(config_.kaa), clock_);
    uplink::Uplink uplink(settings, std::move(endpoints), mqtt, store, clock_);
    for (size_t m = 0; m < meter_count; ++m) {
        uplink.set_metadata(MetadataUpdate{m, config_.meters[m].metadata});
    }

    std::vector<std::unique_ptr<modbus::BusWorker>> workers;
    for (size_t b = 0; b < config_.buses.size(); ++b) {
        std::vector<size_t> meters;
        for (size_t m = 0; m < meter_count; ++m) {
            if (config_.meters[m].bus == config_.buses[b].name) meters.push_back(m);
        }
        if (meters.empty()) {
            spdlog::warn("{}: bus {} has no meters; not opening it", kComponent,
                         config_.buses[b].name);
            continue;
        }
        workers.push_back(std::make_unique<modbus::BusWorker>(
            config_, b, std::move(meters),
            std::make_unique<modbus::LibmodbusTransport>(config_.buses[b]), clock_, *this));
    }

    if (auto st = mqtt.start(this); !st) {
        spdlog::critical("{}: {}", kComponent, st.error().message);
        return 1;
    }
    for (auto& w : workers) w->start();
    spdlog::info("{}: started with {} buses and {} meters; publishing to {}:{} as application "
                 "version {}",
                 kComponent, workers.size(), meter_count, config_.kaa.host, config_.kaa.port,
                 config_.kaa.app_version);

    auto next_status = clock_.now() + kStatusInterval;
    std::deque<GatewayEvent> events;
    std::vector<Sample> samples;
    bool stopping = false;
    while (!stopping) {
        std::optional<Clock::Monotonic> deadline = next_status;
        if (auto d = uplink.next_deadline(); d && *d < *deadline) deadline = d;
        queue_.wait_drain(events, deadline);
        for (auto& event : events) {
            if (auto* s = std::get_if<Sample>(&event)) {
                samples.push_back(std::move(*s));
            } else if (auto* md = std::get_if<MetadataUpdate>(&event)) {
                uplink.set_metadata(*md);
            } else if (std::holds_alternative<events::Connected>(event)) {
                uplink.handle_connected();
            } else if (auto* d = std::get_if<events::Disconnected>(&event)) {
                uplink.handle_disconnected(d->reason);
            } else if (auto* msg = std::get_if<events::Message>(&event)) {
                uplink.handle_message(msg->topic, msg->payload);
            } else if (auto* p = std::get_if<events::Published>(&event)) {
                uplink.handle_published(p->message_id);
            } else if (auto* sig = std::get_if<events::Signal>(&event)) {
                if (sig->number == SIGHUP) {
                    spdlog::warn("{}: reloading the configuration is not supported yet; restart "
                                 "the service to apply changes",
                                 kComponent);
                } else {
                    spdlog::info("{}: stopping (signal {})", kComponent, sig->number);
                    stopping = true;
                }
            }
        }
        events.clear();
        if (!samples.empty()) {
            if (auto st = store.append(samples); !st) {
                spdlog::error("{}: cannot store samples: {}", kComponent, st.error().message);
            }
            samples.clear();
        }
        uplink.check_timeouts();
        uplink.pump();
        if (clock_.now() >= next_status) {
            next_status = clock_.now() + kStatusInterval;
            const auto& c = uplink.counters();
            spdlog::info("{}: {}; {} samples delivered, {} waiting, {} rejected by Kaa, {} dropped "
                         "(buffer full)",
                         kComponent, uplink.connected() ? "connected" : "NOT connected",
                         c.samples_delivered, store.stats().samples, c.samples_rejected,
                         store.stats().dropped_overflow);
        }
    }

    for (auto& w : workers) w->stop();
    mqtt.stop();
    const auto waiting = store.stats().samples;
    if (waiting > 0) {
        spdlog::warn("{}: {} samples were not yet confirmed by Kaa at shutdown and are lost "
                     "(they are kept only in memory)",
                     kComponent, waiting);
    }
    spdlog::info("{}: stopped; {} samples delivered in this run", kComponent,
                 uplink.counters().samples_delivered);
    return 0;
}

void route_signals_to(Gateway& gateway) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::thread([set, &gateway] {
        while (true) {
            int number = 0;
            if (sigwait(&set, &number) != 0) continue;
            gateway.post_signal(number);
            if (number != SIGHUP) return;
        }
    }).detach();
}

}  // namespace kaa
