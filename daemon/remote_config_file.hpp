#pragma once
// The configuration last pushed from Kaa and applied (7/CMP), kept beside the buffer so that
// it is still in force after a restart: {"configId": "...", "config": {...}}. At start and on
// every reload it is laid over the local file (config/remote_override.hpp).

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "config/config_loader.hpp"
#include "core/result.hpp"

namespace kaa {

/// A pushed configuration that was applied.
struct RemoteConfigState {
    std::string config_id;
    nlohmann::json config;  // the pushed document, as received
};

/// Where it is kept for a buffer at `buffer_path` (of the local file).
std::string remote_config_path(const std::string& buffer_path);
/// The state in `path`: nullopt when there is none; an error when it cannot be read.
Result<std::optional<RemoteConfigState>> load_remote_config(const std::string& path);
/// Writes it atomically (fsync, rename).
Status save_remote_config(const std::string& path, const RemoteConfigState& state);

/// `local` (loaded from its file) with the kept remote configuration laid over it, when
/// kaa.remote_config is on and one is kept; else `local` as it is. `note` says which (for
/// logs and --check): empty when no remote configuration is involved; `applied_id` gets
/// the id of the one laid over. A kept configuration that no longer fits the file is
/// reported in `note` and not used.
config::LoadResult with_remote_config(config::LoadResult local, const config::LoadOptions& options,
                                      std::string& note, std::string& applied_id);

}  // namespace kaa
