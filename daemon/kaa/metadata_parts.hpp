#pragma once
// EPMP metadata cut into partial updates (update/keys) that each fit the byte bound: a
// partial update leaves other keys alone, so the parts together say what one would.

#include <cstddef>
#include <vector>

#include <nlohmann/json.hpp>

namespace kaa::uplink {

/// The keys split, in order, into objects whose dump() is at most `max_bytes`; a key too
/// large on its own forms a part alone (the caller logs it). Empty keys give no part.
std::vector<nlohmann::json> split_metadata(const nlohmann::json& keys, size_t max_bytes);

}  // namespace kaa::uplink
