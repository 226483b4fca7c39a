// The text `kaa-gateway profiles` prints.
#include <fmt/format.h>

#include "config/profiles.hpp"

namespace kaa::config {

std::string profiles_table(const std::vector<ProfileResult>& profiles) {
    std::string out = fmt::format("{:<28} {:<18} {:<26} {}\n", "ID", "MAKER", "MODEL", "READS");
    size_t broken = 0;
    for (const ProfileResult& r : profiles) {
        if (!r.profile) {
            ++broken;
            continue;
        }
        const MeterProfile& p = *r.profile;
        out += fmt::format("{:<28} {:<18} {:<26} {} ({} registers)\n", p.id, p.maker, p.model,
                           p.reads.empty() ? p.kind : p.reads, p.registers.size());
    }
    for (const ProfileResult& r : profiles) {
        for (const ConfigError& e : r.errors)
            out += e.to_string() + "\n";
    }
    if (broken > 0)
        out +=
            fmt::format("{} profile file{} with errors left out\n", broken, broken == 1 ? "" : "s");
    return out;
}

}  // namespace kaa::config
