// config_peak: the peak memory (VmHWM) a process keeps after loading a large gateway
// configuration (100 meters x 20 registers, about 260 KB of YAML), with the YAML parsed in
// this process or in a child (config/isolated_loader.hpp).
//
// Usage: config_peak inprocess|isolated
// Prints VmHWM and VmRSS of this process from /proc/self/status, before and after loading.

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "config/config_loader.hpp"
#include "config/isolated_loader.hpp"

namespace {

/// The value of a "Name:   1234 kB" line of /proc/self/status, in KiB (-1 if absent).
long status_kib(const char* name) {
    std::ifstream status("/proc/self/status");
    std::string line;
    const std::string prefix = std::string(name) + ":";
    while (std::getline(status, line)) {
        if (line.rfind(prefix, 0) == 0) {
            return std::strtol(line.c_str() + prefix.size(), nullptr, 10);
        }
    }
    return -1;
}

/// Prints VmHWM and VmRSS under a label.
void print_memory(const char* label) {
    const long hwm = status_kib("VmHWM");
    const long rss = status_kib("VmRSS");
    std::printf("%-14s VmHWM %6ld KiB (%5.1f MiB)  VmRSS %6ld KiB (%5.1f MiB)\n", label, hwm,
                hwm / 1024.0, rss, rss / 1024.0);
}

/// The benchmark's configuration: meters x registers_per_meter registers of varied kinds.
std::string generated_config(int meters, int registers_per_meter) {
    static const char* const kTypes[] = {"float32", "uint32",  "int16", "uint16",
                                         "int32",   "float64", "int64", "uint64"};
    static const char* const kOrders[] = {"ABCD", "CDAB", "BADC", "DCBA"};
    std::ostringstream out;
    out << "kaa:\n  host: 127.0.0.1\n  port: 1883\n  app_version: bench_v1\n"
           "  client_id: kaa-gw-bench\n  keepalive: 60s\n  response_timeout: 30s\n"
           "  reconnect:\n    min_delay: 1s\n    max_delay: 30s\n"
           "buffer:\n  path: /tmp/kaa-config-peak.db\n  max_size: 64MiB\n"
           "buses:\n  - name: bench\n    tcp:\n      host: 127.0.0.1\n      port: 15020\n"
           "    timeout: 500ms\n    retries: 1\n"
           "meters:\n";
    for (int m = 1; m <= meters; ++m) {
        char token[32];
        std::snprintf(token, sizeof token, "meter-%03d", m);
        out << "  - name: " << token << "\n    token: " << token << "\n    bus: bench\n"
            << "    unit: " << m << "\n    poll_interval: 10s\n"
            << "    metadata:\n      model: \"PM-" << m << "\"\n      serial: " << 100000 + m
            << "\n    registers:\n";
        for (int r = 0; r < registers_per_meter; ++r) {
            out << "      - name: value_" << r << "\n        address: " << r * 4
                << "\n        function: " << (r % 3 == 0 ? "holding" : "input")
                << "\n        type: " << kTypes[r % 8] << "\n";
            if (r % 4 != 0) {
                out << "        byte_order: " << kOrders[r % 4] << "\n";
            }
            if (r % 2 == 0) {
                out << "        scale: 0.1\n";
            }
            if (r % 5 == 0) {
                out << "        offset: -273.15\n";
            }
        }
    }
    return out.str();
}

}  // namespace

/// Generates the configuration, loads it the way argv[1] says, prints the memory figures.
int main(int argc, char** argv) {
    const std::string mode = argc > 1 ? argv[1] : "";
    if (mode != "inprocess" && mode != "isolated") {
        std::fprintf(stderr, "usage: config_peak inprocess|isolated\n");
        return 2;
    }
    char path[] = "/tmp/kaa-config-peak-XXXXXX";
    const int fd = mkstemp(path);
    if (fd < 0) {
        std::perror("mkstemp");
        return 1;
    }
    close(fd);
    size_t yaml_bytes = 0;
    {
        const std::string yaml = generated_config(100, 20);
        yaml_bytes = yaml.size();
        std::ofstream(path, std::ios::binary) << yaml;
    }
    print_memory("before load");

    kaa::config::LoadOptions options;
    options.check_files = false;
    const kaa::config::LoadResult result =
        mode == "isolated" ? kaa::config::load_gateway_config_isolated(path, options)
                           : kaa::config::load_gateway_config(path, options);
    std::remove(path);
    if (!result.config) {
        for (const auto& e : result.errors) {
            std::fprintf(stderr, "%s\n", e.to_string().c_str());
        }
        return 1;
    }
    std::printf("%s: %zu bytes of YAML, %zu meters x %zu registers\n", mode.c_str(), yaml_bytes,
                result.config->meters.size(), result.config->meters[0].registers.size());
    print_memory("after load");
    return 0;
}
