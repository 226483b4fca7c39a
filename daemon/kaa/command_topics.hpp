#pragma once
// 11/CEP and 7/CMP topics: commands pushed to an endpoint and the answers to its results,
// configurations pushed to the gateway's endpoint and the answers to its reports.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kaa::uplink {

/// A message recognised on a command or configuration topic.
struct CommandTopic {
    enum class Kind {
        kCommandPush,   // cex/<token>/command/<type>/status, or .../<rid>/status (observed)
        kObserveError,  // cex/<token>/command/<type>/<rid>/error
        kResultReply,   // cex/<token>/result/<type>/<rid>/(status|error)
        kConfigPush,    // cmx/<token>/config/json/status, or .../<rid>/status
        kConfigError,   // cmx/<token>/config/json/<rid>/error
        kAppliedReply,  // cmx/<token>/applied/json/<rid>/(status|error)
    };
    Kind kind = Kind::kCommandPush;
    std::string token;
    std::string type;         // the command type (commands only)
    uint32_t request_id = 0;  // 0: none (an unsolicited push)
    bool success = true;      // /status (true) or /error
};

/// Builds and recognises the command and configuration topics of one application version.
class CommandTopics {
  public:
    explicit CommandTopics(std::string app_version) : app_version_(std::move(app_version)) {}

    /// kp1/<av>/cex/<token>/command/<type>/<rid>: asks for the pending commands of a type
    /// (with {"observe": true}: and for new ones as they come).
    std::string observe(const std::string& token, const std::string& type, uint32_t rid) const;
    /// kp1/<av>/cex/<token>/result/<type>/<rid>: the results of commands of a type.
    std::string result(const std::string& token, const std::string& type, uint32_t rid) const;
    /// kp1/<av>/cmx/<token>/config/json/<rid>: asks for the configuration (observe it).
    std::string config_request(const std::string& token, uint32_t rid) const;
    /// kp1/<av>/cmx/<token>/applied/json/<rid>: reports whether a configuration was applied.
    std::string config_applied(const std::string& token, uint32_t rid) const;
    /// The filters that bring commands and configurations (pushed or asked for) and the
    /// answers to our results and reports.
    std::vector<std::string> filters() const;
    /// Recognises the topics above; nothing else (a topic of another application version,
    /// a request we publish ourselves, a malformed level).
    std::optional<CommandTopic> parse(const std::string& topic) const;

  private:
    std::string app_version_;
};

}  // namespace kaa::uplink
