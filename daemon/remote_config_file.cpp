// Keeping the applied remote configuration, and laying it over the local file.
#include "daemon/remote_config_file.hpp"

#include <cerrno>

#include <fmt/format.h>

#include "config/remote_override.hpp"
#include "core/atomic_file.hpp"

namespace kaa {
namespace {

constexpr size_t kMaxRemoteFileBytes = 1 << 20;

}  // namespace

std::string remote_config_path(const std::string& buffer_path) {
    return buffer_path + "-remote.json";
}

Result<std::optional<RemoteConfigState>> load_remote_config(const std::string& path) {
    auto text = read_small_file(path, kMaxRemoteFileBytes);
    if (!text && text.error().code == ENOENT)
        return std::optional<RemoteConfigState>{};
    if (!text)
        return text.error();
    const auto j = nlohmann::json::parse(text.value(), nullptr, false);
    if (!j.is_object() || !j.contains("configId") || !j["configId"].is_string() ||
        !j.contains("config") || !j["config"].is_object()) {
        return make_error(ErrorKind::kInvalidArgument,
                          fmt::format("{}: not a kept remote configuration", path));
    }
    return std::optional<RemoteConfigState>{
        RemoteConfigState{j["configId"].get<std::string>(), j["config"]}};
}

Status save_remote_config(const std::string& path, const RemoteConfigState& state) {
    const nlohmann::json doc{{"configId", state.config_id}, {"config", state.config}};
    return write_file_atomically(
        path, doc.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

config::LoadResult with_remote_config(config::LoadResult local, const config::LoadOptions& options,
                                      std::string& note, std::string& applied_id) {
    note.clear();
    applied_id.clear();
    if (!local.config || !local.config->kaa.remote_config)
        return local;
    const std::string path = remote_config_path(local.config->buffer.path);
    auto kept = load_remote_config(path);
    if (!kept) {
        note = kept.error().message + "; the local file alone is in force";
        return local;
    }
    if (!kept.value())
        return local;
    const RemoteConfigState& state = *kept.value();
    config::LoadResult merged =
        config::load_with_override(local.config->source_path, state.config, options);
    if (!merged.config) {
        std::string why = merged.errors.empty() ? "invalid" : merged.errors.front().to_string();
        note = fmt::format(
            "the remote configuration {} kept in {} no longer fits {} ({}); the local file "
            "alone is in force",
            state.config_id, path, local.config->source_path, why);
        return local;
    }
    applied_id = state.config_id;
    note = fmt::format("remote configuration {} (from Kaa, kept in {}) is in force over {}",
                       state.config_id, path, local.config->source_path);
    return merged;
}

}  // namespace kaa
