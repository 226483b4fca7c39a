#pragma once
// Readers of kaa.tls and kaa.auth: the credentials' keys, and the checks of the files they
// name (present, readable, PEM, by the service user too; inside them, with the TLS
// inspector).

#include <optional>

#include "config/config.hpp"
#include "config/config_loader.hpp"

namespace kaa::config {

class MapReader;

/// Reads kaa.tls (under the kaa: reader `k`): present means TLS on; its files are checked
/// as `options` say.
std::optional<TlsConfig> read_tls(const MapReader& k, const LoadOptions& options);

/// Reads kaa.auth: MQTT basic credentials with the password in a file.
std::optional<AuthConfig> read_auth(const MapReader& k, const LoadOptions& options);

}  // namespace kaa::config
