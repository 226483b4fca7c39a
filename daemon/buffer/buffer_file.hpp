#pragma once
// Chores on the buffer's file that need no SQLite: checking that its path is usable before
// opening it, and moving a damaged buffer aside so the daemon starts with a fresh one.

#include <cstdint>
#include <string>

#include "core/result.hpp"

namespace kaa::buffer_file {

/// The directory that holds `path` ("." for a bare file name).
std::string directory_of(const std::string& path);
/// Plain words for an errno about storage: "disk full", "read-only file system", ...
std::string errno_words(int e);
/// Bytes free for an unprivileged writer on the file system that holds `path` (0 if unknown).
uint64_t free_bytes(const std::string& path);
/// True when the directory of `path` sits on a file system mounted read-only.
bool on_read_only_fs(const std::string& path);
/// The directory must exist (it is never created) and the file must be creatable and writable.
Status check_writable(const std::string& path);
/// Renames `path` and its -wal/-shm to "<path>.corrupt-<unix_time>[-n]"; returns the new name.
Result<std::string> move_aside(const std::string& path, long long unix_time);

}  // namespace kaa::buffer_file
