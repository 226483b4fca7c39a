// 1/KP topic building and reply parsing.
#include "daemon/kaa/topics.hpp"

#include <charconv>

namespace kaa::uplink {

std::vector<std::string> split_topic(const std::string& s, char sep) {
    std::vector<std::string> parts;
    size_t start = 0;
    while (true) {
        const size_t pos = s.find(sep, start);
        parts.push_back(s.substr(start, pos - start));
        if (pos == std::string::npos)
            break;
        start = pos + 1;
    }
    return parts;
}

std::optional<uint32_t> parse_request_id(const std::string& s) {
    if (s.empty() || s.size() > 10 || s[0] == '0')
        return std::nullopt;
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || v == 0 || v > 0x7fffffffULL) {
        return std::nullopt;
    }
    return static_cast<uint32_t>(v);
}

std::string Topics::samples(const std::string& token, uint32_t request_id) const {
    return "kp1/" + app_version_ + "/dcx/" + token + "/json/" + std::to_string(request_id);
}

std::string Topics::metadata_update(const std::string& token, uint32_t request_id) const {
    return "kp1/" + app_version_ + "/epmx/" + token + "/update/keys/" + std::to_string(request_id);
}

std::vector<std::string> Topics::reply_filters() const {
    const std::string base = "kp1/" + app_version_;
    return {base + "/dcx/+/json/+/status", base + "/dcx/+/json/+/error",
            base + "/epmx/+/update/keys/+/status", base + "/epmx/+/update/keys/+/error"};
}

std::optional<ParsedReply> Topics::parse_reply(const std::string& topic) const {
    const auto parts = split_topic(topic, '/');
    // kp1 / av / ext / token / resource... / rid / status|error
    if (parts.size() < 7 || parts[0] != "kp1" || parts[1] != app_version_)
        return std::nullopt;
    ParsedReply reply;
    const std::string& outcome = parts.back();
    if (outcome == "status") {
        reply.success = true;
    } else if (outcome != "error") {
        return std::nullopt;
    }
    reply.token = parts[3];
    if (reply.token.empty())
        return std::nullopt;
    if (parts[2] == "dcx" && parts.size() == 7 && parts[4] == "json") {
        reply.extension = Extension::kDataCollection;
    } else if (parts[2] == "epmx" && parts.size() == 8 && parts[4] == "update" &&
               parts[5] == "keys") {
        reply.extension = Extension::kMetadata;
    } else {
        return std::nullopt;
    }
    const auto rid = parse_request_id(parts[parts.size() - 2]);
    if (!rid)
        return std::nullopt;
    reply.request_id = *rid;
    return reply;
}

}  // namespace kaa::uplink
