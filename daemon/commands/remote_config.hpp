#pragma once
// RemoteConfigClient: the gateway's own endpoint observes its configuration (7/CMP). After
// every connect it asks for it (and to be told of changes); a configuration pushed or
// answered is handed to the gateway, which validates it like a reload and applies it or not;
// the outcome is reported on applied/json with the configuration's id. Single-threaded: the
// gateway's main loop calls every method.

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/clock.hpp"
#include "daemon/commands/platform_requests.hpp"
#include "daemon/kaa/command_topics.hpp"
#include "daemon/kaa/mqtt_client.hpp"

namespace kaa::commands {

/// What applying a pushed configuration came to: 200 (applied), 400 (invalid: every error
/// in the reason, nothing changed) or 500 (valid, but it could not be kept on disk).
struct ApplyOutcome {
    int status_code = 200;
    std::string reason;
};

/// The 7/CMP side of the gateway's own endpoint.
class RemoteConfigClient {
  public:
    /// Validates and applies a configuration (the same schema as the file, as JSON).
    using Apply =
        std::function<ApplyOutcome(const std::string& config_id, const nlohmann::json& config)>;

    RemoteConfigClient(std::string app_version, std::string token, int qos,
                       uplink::MqttClient& mqtt, const Clock& clock, Apply apply);

    /// The connection is up: ask for the configuration and for its changes.
    void handle_connected();
    /// A message from the platform; true when it was a configuration topic (handled here).
    bool handle_message(const std::string& topic, const std::string& payload);
    /// The id of the configuration applied last (this run or kept from an earlier one).
    void set_applied(std::string config_id) { applied_id_ = std::move(config_id); }
    const std::string& applied() const { return applied_id_; }

  private:
    void handle_config(const std::string& payload);
    void report(const std::string& config_id, const ApplyOutcome& outcome);

    std::string token_;
    int qos_;
    uplink::MqttClient& mqtt_;
    Apply apply_;
    uplink::CommandTopics topics_;
    std::string applied_id_;
    RequestIds rids_;
    LimitedWarnings warnings_;
};

}  // namespace kaa::commands
