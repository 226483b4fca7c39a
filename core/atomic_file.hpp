#pragma once
// Whole files written so that a crash or power cut leaves either the old or the new one.

#include <string>

#include "core/result.hpp"

namespace kaa {

/// Writes `text` to `path` through `path`.tmp: written, fsynced, renamed over `path`, and the
/// directory synced. The error names the file and the system's reason.
Status write_file_atomically(const std::string& path, const std::string& text, int mode = 0640);

/// The whole file, or an error (kIo, code = errno; ENOENT when it does not exist); a file
/// over `max_bytes` is refused.
Result<std::string> read_small_file(const std::string& path, size_t max_bytes);

}  // namespace kaa
