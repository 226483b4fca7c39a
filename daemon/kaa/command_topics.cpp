// 11/CEP and 7/CMP topic building and recognition.
#include "daemon/kaa/command_topics.hpp"

#include "daemon/kaa/topics.hpp"

namespace kaa::uplink {
namespace {

using Kind = CommandTopic::Kind;

/// parts[from..] is "<rid>/<outcome>" or, for a push, "<outcome>" alone; false otherwise.
bool parse_tail(const std::vector<std::string>& parts, size_t from, CommandTopic& out) {
    const size_t left = parts.size() - from;
    if (left != 1 && left != 2)
        return false;
    const std::string& outcome = parts.back();
    if (outcome != "status" && outcome != "error")
        return false;
    out.success = outcome == "status";
    if (left == 2) {
        const auto rid = parse_request_id(parts[from]);
        if (!rid)
            return false;
        out.request_id = *rid;
    }
    return true;
}

}  // namespace

std::string CommandTopics::observe(const std::string& token, const std::string& type,
                                   uint32_t rid) const {
    return "kp1/" + app_version_ + "/cex/" + token + "/command/" + type + "/" + std::to_string(rid);
}

std::string CommandTopics::result(const std::string& token, const std::string& type,
                                  uint32_t rid) const {
    return "kp1/" + app_version_ + "/cex/" + token + "/result/" + type + "/" + std::to_string(rid);
}

std::string CommandTopics::config_request(const std::string& token, uint32_t rid) const {
    return "kp1/" + app_version_ + "/cmx/" + token + "/config/json/" + std::to_string(rid);
}

std::string CommandTopics::config_applied(const std::string& token, uint32_t rid) const {
    return "kp1/" + app_version_ + "/cmx/" + token + "/applied/json/" + std::to_string(rid);
}

std::vector<std::string> CommandTopics::filters() const {
    const std::string cex = "kp1/" + app_version_ + "/cex/+/";
    const std::string cmx = "kp1/" + app_version_ + "/cmx/+/";
    return {cex + "command/+/status",      cex + "command/+/+/status",
            cex + "command/+/+/error",     cex + "result/+/+/status",
            cex + "result/+/+/error",      cmx + "config/json/status",
            cmx + "config/json/+/status",  cmx + "config/json/+/error",
            cmx + "applied/json/+/status", cmx + "applied/json/+/error"};
}

std::optional<CommandTopic> CommandTopics::parse(const std::string& topic) const {
    const auto parts = split_topic(topic, '/');
    // kp1 / av / ext / token / resource / type-or-json / [rid /] outcome
    if (parts.size() < 7 || parts.size() > 8 || parts[0] != "kp1" || parts[1] != app_version_ ||
        parts[3].empty()) {
        return std::nullopt;
    }
    CommandTopic out;
    out.token = parts[3];
    if (parts[2] == "cex") {
        if (parts[5].empty())
            return std::nullopt;
        out.type = parts[5];
        if (parts[4] == "command") {
            out.kind = Kind::kCommandPush;
        } else if (parts[4] == "result") {
            out.kind = Kind::kResultReply;
        } else {
            return std::nullopt;
        }
    } else if (parts[2] == "cmx" && parts[5] == "json") {
        if (parts[4] == "config") {
            out.kind = Kind::kConfigPush;
        } else if (parts[4] == "applied") {
            out.kind = Kind::kAppliedReply;
        } else {
            return std::nullopt;
        }
    } else {
        return std::nullopt;
    }
    if (!parse_tail(parts, 6, out))
        return std::nullopt;
    // Results and reports are answered with their request id only; an error answer to an
    // observe or config request carries its id too.
    const bool is_answer = out.kind == Kind::kResultReply || out.kind == Kind::kAppliedReply;
    if (is_answer && out.request_id == 0)
        return std::nullopt;
    if (!out.success) {
        if (out.request_id == 0)
            return std::nullopt;
        if (out.kind == Kind::kCommandPush)
            out.kind = Kind::kObserveError;
        else if (out.kind == Kind::kConfigPush)
            out.kind = Kind::kConfigError;
    }
    return out;
}

}  // namespace kaa::uplink
