// 7/CMP for the gateway's own endpoint: asking for the configuration, reporting the outcome.
#include "daemon/commands/remote_config.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/printable.hpp"

namespace kaa::commands {
namespace {

constexpr const char* kRemoteLog = "remote config";
constexpr size_t kMaxReasonBytes = 4096;

}  // namespace

RemoteConfigClient::RemoteConfigClient(std::string app_version, std::string token, int qos,
                                       uplink::MqttClient& mqtt, const Clock& clock, Apply apply)
    : token_(std::move(token)),
      qos_(qos),
      mqtt_(mqtt),
      apply_(std::move(apply)),
      topics_(std::move(app_version)),
      warnings_(clock, kRemoteLog) {}

void RemoteConfigClient::handle_connected() {
    // The subscriptions are CommandCenter's (CommandTopics::filters covers cmx too).
    nlohmann::json request{{"observe", true}};
    if (!applied_id_.empty())
        request["configId"] = applied_id_;  // "{}" comes back when it is unchanged
    (void)mqtt_.publish(topics_.config_request(token_, rids_.next()), request.dump(), qos_);
}

bool RemoteConfigClient::handle_message(const std::string& topic, const std::string& payload) {
    const auto parsed = topics_.parse(topic);
    using Kind = uplink::CommandTopic::Kind;
    if (!parsed || (parsed->kind != Kind::kConfigPush && parsed->kind != Kind::kConfigError &&
                    parsed->kind != Kind::kAppliedReply)) {
        return false;
    }
    if (parsed->token != token_)
        return true;  // another endpoint's configuration: not ours to apply
    if (parsed->kind == Kind::kConfigPush) {
        handle_config(payload);
    } else if (!parsed->success) {
        warnings_.warn(parsed->kind == Kind::kConfigError ? "request" : "report",
                       fmt::format("Kaa refused the gateway's configuration {}: {}",
                                   parsed->kind == Kind::kConfigError ? "request" : "report",
                                   printable(payload, 300)));
    }
    return true;
}

void RemoteConfigClient::handle_config(const std::string& payload) {
    const auto j = nlohmann::json::parse(payload, nullptr, false);
    if (!j.is_object()) {
        warnings_.warn("unreadable",
                       "unreadable configuration from Kaa: " + printable(payload, 200));
        return;
    }
    if (!j.contains("config"))
        return;  // {}: unchanged since the configId we named
    const std::string id = j.contains("configId") && j["configId"].is_string()
                               ? j["configId"].get<std::string>()
                               : std::string();
    if (!id.empty() && id == applied_id_) {
        report(id, ApplyOutcome{200, "applied already"});
        return;
    }
    spdlog::info("{}: configuration {} received from Kaa", kRemoteLog, printable(id, 80));
    const ApplyOutcome outcome = apply_(id, j["config"]);
    if (outcome.status_code == 200)
        applied_id_ = id;
    report(id, outcome);
}

void RemoteConfigClient::report(const std::string& config_id, const ApplyOutcome& outcome) {
    nlohmann::json body{{"configId", config_id},
                        {"statusCode", outcome.status_code},
                        {"reasonPhrase", outcome.reason.substr(0, kMaxReasonBytes)}};
    (void)mqtt_.publish(topics_.config_applied(token_, rids_.next()),
                        body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), qos_);
}

}  // namespace kaa::commands
