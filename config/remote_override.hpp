#pragma once
// A configuration pushed from Kaa (7/CMP) laid over the local file: the same schema as the
// file, as JSON. The local file stays the source of every key the push leaves out.

#include <string>

#include <nlohmann/json.hpp>

#include "config/config_loader.hpp"

namespace kaa::config {

/// The name errors of a pushed configuration carry instead of a file name.
inline constexpr const char* kRemoteConfigName = "remote configuration";

/// The local file at `local_path` with `pushed` laid over it as an RFC 7396 merge patch
/// (objects merged key by key, null removes a key, anything else replaces: a pushed
/// `meters` list replaces the file's), validated exactly like the file. Errors in the merged
/// document name their JSON path ("meters[1].poll_interval: ...") instead of a line and
/// column; errors of the local file itself keep theirs. The configuration's source_path is
/// `local_path`. Never throws.
LoadResult load_with_override(const std::string& local_path, const nlohmann::json& pushed,
                              const LoadOptions& options = {});

/// The local file as JSON (mappings as objects, lists as arrays, scalars as strings, nulls
/// as null), or the errors that keep it from being read.
LoadResult read_file_as_json(const std::string& local_path, nlohmann::json& out);

}  // namespace kaa::config
