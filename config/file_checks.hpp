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
void check_named_file(const MapReader& reader, std::string_view key, const std::string& path,
                      FileKind kind, bool missing_is_error);

}  // namespace kaa::config
