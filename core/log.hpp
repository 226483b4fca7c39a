#pragma once
// Logging set-up: one stderr logger whose lines read "[level] component: message";
// under systemd (stderr is the journal) lines carry a <N> priority prefix and no time.

#include <string>

#include <spdlog/spdlog.h>

namespace kaa::log {

/// Configures the process-wide logger. `level` is debug, info, warning or error.
/// Returns false (and keeps info) when the level name is unknown.
bool init(const std::string& level);

/// True when stderr is connected to the systemd journal (JOURNAL_STREAM matches).
bool stderr_is_journal();

}  // namespace kaa::log
