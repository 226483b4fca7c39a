// Splitting metadata keys into partial updates within the publish bound.
#include "daemon/kaa/metadata_parts.hpp"

namespace kaa::uplink {

std::vector<nlohmann::json> split_metadata(const nlohmann::json& keys, size_t max_bytes) {
    std::vector<nlohmann::json> parts;
    if (!keys.is_object() || keys.empty())
        return parts;
    nlohmann::json part = nlohmann::json::object();
    size_t part_bytes = 2;  // "{}"
    for (auto it = keys.begin(); it != keys.end(); ++it) {
        // "key":value plus the comma that joins it to the previous member.
        const size_t member = nlohmann::json(it.key()).dump().size() + 1 + it.value().dump().size();
        const size_t added = member + (part.empty() ? 0 : 1);
        if (!part.empty() && part_bytes + added > max_bytes) {
            parts.push_back(std::move(part));
            part = nlohmann::json::object();
            part_bytes = 2;
        }
        part_bytes += member + (part.empty() ? 0 : 1);
        part[it.key()] = it.value();
    }
    parts.push_back(std::move(part));
    return parts;
}

}  // namespace kaa::uplink
