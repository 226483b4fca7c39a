#pragma once
// Reading the MQTT password from kaa.auth.password_file at each connect attempt, so that a
// file that became unreadable is reported and never turns into an empty password.

#include <string>

#include "core/result.hpp"

namespace kaa::uplink {

/// The first line of the file at `path` without its line ending. An error naming the
/// file and the reason (cannot be opened or read, or holds no password) otherwise; the
/// password itself is never part of a message.
Result<std::string> read_password_file(const std::string& path);

}  // namespace kaa::uplink
