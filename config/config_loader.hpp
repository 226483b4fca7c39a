#pragma once
// Loading of the gateway configuration: YAML file -> validated GatewayConfig, or every
// error found, each with file:line:column.

#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/config_error.hpp"
#include "config/profiles.hpp"
#include "core/tls_inspector.hpp"

namespace kaa::config {

/// The outcome of loading: a configuration only when there are no errors.
struct LoadResult {
    std::optional<GatewayConfig> config;
    std::vector<ConfigError> errors;
    std::vector<ConfigError> warnings;
};

/// Switches for checks that look beyond the text of the file.
struct LoadOptions {
    /// Check the files named (kaa.auth.password_file, kaa.tls.*): there, readable, PEM for
    /// TLS, and secrets not readable by every user (file_checks.hpp).
    bool check_files = true;
    /// A missing password file is an error (starting the daemon) or only a warning
    /// (`--check`, which may run before the file is provisioned).
    bool missing_files_are_errors = true;
    /// Where meters' `profile:` ids are looked up, first match wins (config/profiles.hpp).
    std::vector<std::string> profile_dirs = default_profile_dirs();
    /// Looks inside kaa.tls's files (PEM parses, key matches certificate, validity dates);
    /// null: only their presence and form are checked. Must outlive the load.
    const TlsInspector* tls_inspector = nullptr;
    /// What the inspector finds that no connection can work with is an error (`--check`)
    /// or a warning (starting the daemon: it polls and keeps every reading meanwhile).
    bool tls_problems_are_errors = false;
    /// The system user the service runs as: the files named are checked to be readable by
    /// it (a warning when not; `--check` run as root). Empty: not checked.
    std::string service_user;
};

/// Loads and validates the gateway configuration file at path. An unreadable file gives
/// one error naming the path. Never throws.
LoadResult load_gateway_config(const std::string& path, const LoadOptions& options = {});

/// Loads and validates gateway configuration text; file_name is used in locations and as
/// the configuration's source_path. Never throws.
LoadResult load_gateway_config_text(const std::string& yaml_text, const std::string& file_name,
                                    const LoadOptions& options = {});

}  // namespace kaa::config
