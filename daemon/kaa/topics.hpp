#pragma once
// 1/KP topic names: building request topics and recognising /status and /error replies.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kaa::uplink {

/// The levels of `topic` between `sep`s ("a//b" has an empty middle level).
std::vector<std::string> split_topic(const std::string& topic, char sep = '/');
/// A request id: a positive integer below 2^31 written in plain decimal digits.
std::optional<uint32_t> parse_request_id(const std::string& level);

/// Which Kaa extension a request went to.
enum class Extension { kDataCollection, kMetadata };

/// A reply recognised on a subscribed topic.
struct ParsedReply {
    Extension extension = Extension::kDataCollection;
    std::string token;
    uint32_t request_id = 0;
    bool success = false;  // true: /status, false: /error
};

/// Builds the topics of one application version.
class Topics {
  public:
    explicit Topics(std::string app_version) : app_version_(std::move(app_version)) {}

    /// kp1/<av>/dcx/<token>/json/<rid>: a batch of samples (2/DCP).
    std::string samples(const std::string& token, uint32_t request_id) const;
    /// kp1/<av>/epmx/<token>/update/keys/<rid>: a partial metadata update (10/EPMP).
    std::string metadata_update(const std::string& token, uint32_t request_id) const;
    /// The filters to subscribe to so every reply to our requests reaches us.
    std::vector<std::string> reply_filters() const;
    /// Recognises kp1/<av>/dcx/<token>/json/<rid>/(status|error) and
    /// kp1/<av>/epmx/<token>/update/keys/<rid>/(status|error); nothing else.
    std::optional<ParsedReply> parse_reply(const std::string& topic) const;

  private:
    std::string app_version_;
};

}  // namespace kaa::uplink
