// The gateway as its own Kaa endpoint (gateway.token): metadata after every connect and on
// change, and a health sample every gateway.health_interval, both from the status document.
#include <spdlog/spdlog.h>

#include "daemon/gateway.hpp"
#include "daemon/kaa/own_endpoint.hpp"
#include "daemon/status/health_report.hpp"

namespace kaa {
namespace {

constexpr const char* kEndpointLog = "gateway-endpoint";

}  // namespace

void Gateway::start_own_endpoint() {
    const config::GatewayConfig& config = *config_;
    if (config.gateway.token.empty())
        return;
    uplink::OwnEndpointSettings settings;
    settings.app_version = config.kaa.app_version;
    settings.token = config.gateway.token;
    settings.qos = config.kaa.qos;
    settings.await_status = config.kaa.delivery == config::Delivery::kStatus;
    settings.response_timeout = config.kaa.response_timeout;
    settings.timestamp = config.kaa.timestamp;
    own_ = std::make_unique<uplink::OwnEndpoint>(std::move(settings), *mqtt_, clock_);
    health_ = std::make_unique<status::HealthReporter>();
    host_ = std::make_unique<status::HostFacts>(status::read_host_facts());
    next_health_ = clock_.now() + config.gateway.health_interval;
    own_->set_metadata(status::gateway_metadata(status_document(), *host_, config.kaa.client_id));
    own_metadata_for_ = config_.get();
    spdlog::info(
        "{}: the gateway's own endpoint is {}: metadata after every connect, health "
        "every {} s",
        kEndpointLog, config.gateway.token, config.gateway.health_interval.count() / 1000.0);
}

void Gateway::tend_own_endpoint() {
    if (!own_ || clock_watch_->holding())
        return;  // a health sample now would carry a time not yet trusted
    const auto now = clock_.now();
    const bool health_due = now >= next_health_;
    if (health_due || own_metadata_for_ != config_.get()) {
        const nlohmann::json doc = status_document();
        // A reload changes what is configured: the metadata follows at once.
        own_->set_metadata(status::gateway_metadata(doc, *host_, config_->kaa.client_id));
        own_metadata_for_ = config_.get();
        if (health_due) {
            next_health_ = now + config_->gateway.health_interval;
            own_->add_sample(clock_.wall_ms(), health_->sample(doc));
        }
    }
    own_->check_timeouts();  // sends what waits, too
}

nlohmann::json Gateway::own_endpoint_status() const {
    if (!own_)
        return nullptr;
    const auto& c = own_->counters();
    return nlohmann::json{{"token", own_->token()},
                          {"health_interval_ms", config_->gateway.health_interval.count()},
                          {"samples_sent", c.samples_sent},
                          {"samples_confirmed", c.samples_confirmed},
                          {"samples_dropped", c.samples_dropped},
                          {"samples_waiting", own_->waiting()},
                          {"metadata_sent", c.metadata_sent},
                          {"metadata_confirmed", c.metadata_confirmed},
                          {"errors_received", c.errors_received}};
}

}  // namespace kaa
