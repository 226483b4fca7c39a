#pragma once
// Checks of the files a configuration names (the MQTT password, TLS certificates and key):
// present, readable, of the right form, not readable by every user when secret.

#include <string>
#include <string_view>

namespace kaa::config {

class MapReader;

/// What a named file must be.
enum class FileKind {
    kPassword,  // any text; secret
    kPem,       // a PEM file (certificate or CA bundle)
    kPemKey,    // a PEM private key; secret
};

/// Reports problems with the file at `path` named by `key` of `reader`: missing (an error,
/// or a warning with missing_is_error false: `--check` may run before it is provisioned),
/// unreadable or not PEM (errors), readable by every user while secret (a warning).
/// Returns true when the file is there and readable (its contents may still be checked).
bool check_named_file(const MapReader& reader, std::string_view key, const std::string& path,
                      FileKind kind, bool missing_is_error);

/// Why the system user `user` could not read the file at `path` (the file's permission bits
/// and the search bits of its directories, for the user's uid and groups), with the command
/// that fixes it; "" when it can, when `user` does not exist, or when it is root.
std::string unreadable_by_user(const std::string& path, const std::string& user);

}  // namespace kaa::config
