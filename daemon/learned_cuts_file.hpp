#pragma once
// The file beside the buffer that keeps where meters refuse merged reads (LearnedCuts)
// across restarts: `<buffer.path>-plans.json`, written whole and atomically.

#include <string>

#include "core/result.hpp"
#include "drivers/modbus/learned_cuts.hpp"

namespace kaa {

/// The plans file that belongs to a buffer file.
std::string learned_cuts_path(const std::string& buffer_path);
/// Reads the file; an absent file is an empty table, a damaged one an error (the caller
/// starts empty: the cuts are learnt again).
Result<modbus::LearnedCuts::Table> load_learned_cuts(const std::string& path);
/// Writes the table to a temporary file, syncs it and renames it over `path`.
Status save_learned_cuts(const std::string& path, const modbus::LearnedCuts::Table& table);

}  // namespace kaa
