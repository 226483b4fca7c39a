#pragma once
// Helpers shared by the configuration tests: load inline YAML and list its messages.

#include <string>
#include <vector>

#include "config/config_loader.hpp"
#include "config/sim_config_loader.hpp"

namespace kaa::config::testing {

/// "file:line:column: message" of every entry.
inline std::vector<std::string> messages(const std::vector<ConfigError>& list) {
    std::vector<std::string> out;
    for (const auto& e : list) {
        out.push_back(e.to_string());
    }
    return out;
}

/// A kaa: section whose lines 1-3 are fixed; extra lines start at line 4.
inline std::string kaa_with(const std::string& extra) {
    return "kaa:\n  host: h\n  app_version: av\n" + extra;
}

/// Loads gateway YAML as "t.yaml" without looking at files on disk.
inline LoadResult load(const std::string& yaml) {
    LoadOptions options;
    options.check_files = false;
    return load_gateway_config_text(yaml, "t.yaml", options);
}

/// The errors of gateway YAML loaded as "t.yaml".
inline std::vector<std::string> errors(const std::string& yaml) {
    return messages(load(yaml).errors);
}

/// The errors of simulator YAML loaded as "s.yaml".
inline std::vector<std::string> sim_errors(const std::string& yaml) {
    return messages(load_sim_config_text(yaml, "s.yaml").errors);
}

/// A valid start of a gateway file: kaa (line 1), a TCP bus tcp1 (lines 3-4), an RTU
/// bus rtu1 (lines 5-6) and `meters:` on line 7; tests append meters from line 8.
inline const std::string kHead =
    "kaa: {host: h, app_version: av}\n"
    "buses:\n"
    "  - name: tcp1\n"
    "    tcp: {host: 127.0.0.1}\n"
    "  - name: rtu1\n"
    "    rtu: {device: /dev/null}\n"
    "meters:\n";

}  // namespace kaa::config::testing
