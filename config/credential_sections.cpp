// Readers of kaa.tls and kaa.auth.
#include "config/credential_sections.hpp"

#include <chrono>
#include <string>
#include <string_view>

#include "config/file_checks.hpp"
#include "config/yaml_reader.hpp"

namespace kaa::config {
namespace {

/// Warns when the service user could not read the file named by `key`.
void check_service_user(const MapReader& r, std::string_view key, const std::string& path,
                        const LoadOptions& options) {
    if (options.service_user.empty())
        return;
    if (std::string why = unreadable_by_user(path, options.service_user); !why.empty())
        r.warn(key, "'" + path + "' " + why);
}

/// Reports what the TLS inspector finds inside kaa.tls's (readable) files.
void inspect_tls_files(const MapReader& t, const TlsConfig& tls, const LoadOptions& options) {
    if (options.tls_inspector == nullptr)
        return;
    const TlsFiles files{tls.ca_file, tls.cert_file, tls.key_file};
    for (const auto& problem :
         options.tls_inspector->check_files(files, std::chrono::system_clock::now())) {
        if (problem.fatal && options.tls_problems_are_errors) {
            t.fail(problem.key, problem.text);
        } else if (problem.fatal) {
            t.warn(problem.key, problem.text +
                                    " (the daemon polls and keeps every reading, but cannot "
                                    "connect until this is fixed)");
        } else {
            t.warn(problem.key, problem.text);
        }
    }
}

}  // namespace

/// Reads kaa.tls: present means TLS on.
std::optional<TlsConfig> read_tls(const MapReader& k, const LoadOptions& options) {
    if (!k.has("tls")) {
        return std::nullopt;
    }
    MapReader t(k.diag(), k.get("tls"), "kaa.tls", {"ca_file", "cert_file", "key_file"},
                k.key_where("tls"));
    TlsConfig tls;
    if (auto v = t.string("ca_file", Need::kRequired)) {
        tls.ca_file = *v;
    }
    if (auto v = t.string("cert_file")) {
        tls.cert_file = *v;
    }
    if (auto v = t.string("key_file")) {
        tls.key_file = *v;
    }
    if (options.check_files) {
        const std::pair<const char*, FileKind> named[] = {{"ca_file", FileKind::kPem},
                                                          {"cert_file", FileKind::kPem},
                                                          {"key_file", FileKind::kPemKey}};
        bool readable = true;
        for (const auto& [key, kind] : named) {
            if (auto v = t.string(key); v && !v->empty()) {
                readable = check_named_file(t, key, *v, kind, options.missing_files_are_errors) &&
                           readable;
                check_service_user(t, key, *v, options);
            }
        }
        if (readable)
            inspect_tls_files(t, tls, options);
    }
    if (t.has("cert_file") != t.has("key_file")) {
        const char* present = t.has("cert_file") ? "cert_file" : "key_file";
        const char* missing = t.has("cert_file") ? "key_file" : "cert_file";
        std::string text = "kaa.tls: cert_file and key_file go together; ";
        k.diag().error(t.key_where(present), text + missing + " is missing");
    }
    return tls;
}

/// Reads kaa.auth: MQTT basic credentials with the password in a file.
std::optional<AuthConfig> read_auth(const MapReader& k, const LoadOptions& options) {
    if (!k.has("auth")) {
        return std::nullopt;
    }
    MapReader a(k.diag(), k.get("auth"), "kaa.auth", {"username", "password_file"},
                k.key_where("auth"));
    AuthConfig auth;
    if (auto v = a.string("username", Need::kRequired)) {
        auth.username = *v;
    }
    if (auto v = a.string("password_file", Need::kRequired)) {
        auth.password_file = *v;
        if (options.check_files) {
            check_named_file(a, "password_file", *v, FileKind::kPassword,
                             options.missing_files_are_errors);
            check_service_user(a, "password_file", *v, options);
        }
    }
    return auth;
}

}  // namespace kaa::config
