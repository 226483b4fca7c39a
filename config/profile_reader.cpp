// Meter profiles: finding a profile's file and reading it (config/profiles.hpp).
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "config/meter_sections.hpp"
#include "config/profile_fingerprint.hpp"
#include "config/profiles.hpp"
#include "config/yaml_reader.hpp"

namespace kaa::config {
namespace {

constexpr size_t kMaxProfileId = 64;

/// Reads the `profile:` block: the model's id and description.
void read_profile_header(const MapReader& top, const std::string& file_id, MeterProfile& out) {
    MapReader p(top.diag(), top.get("profile"), "profile",
                {"id", "maker", "model", "kind", "reads", "interface", "serial"},
                top.key_where("profile"));
    if (auto v = p.string("id", Need::kRequired)) {
        if (*v != file_id) {
            p.fail("id", "'" + *v + "' must be the file's name without .yaml ('" + file_id + "')");
        }
        out.id = *v;
    }
    out.maker = p.string("maker", Need::kRequired).value_or("");
    out.model = p.string("model", Need::kRequired).value_or("");
    out.kind =
        p.choice<std::string>(
             "kind",
             {{"electricity", "electricity"}, {"heat", "heat"}, {"water", "water"}, {"gas", "gas"}},
             Need::kRequired)
            .value_or("");
    out.reads = p.string("reads").value_or("");
}

}  // namespace

std::vector<std::string> default_profile_dirs() {
    std::vector<std::string> dirs;
    if (const char* extra = std::getenv("KAA_PROFILE_DIRS")) {
        std::string list = extra;
        size_t start = 0;
        while (start <= list.size()) {
            const size_t end = std::min(list.find(':', start), list.size());
            if (end > start)
                dirs.push_back(list.substr(start, end - start));
            start = end + 1;
        }
    }
    dirs.push_back("/etc/kaa-gateway/profiles");
    dirs.push_back("/usr/share/kaa-gateway/profiles");
    return dirs;
}

bool is_profile_id(const std::string& id) {
    if (id.empty() || id.size() > kMaxProfileId || id.front() == '-')
        return false;
    return std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    });
}

std::optional<std::string> find_profile(const std::string& id,
                                        const std::vector<std::string>& dirs) {
    if (!is_profile_id(id))
        return std::nullopt;
    for (const std::string& dir : dirs) {
        const std::string path = dir + "/" + id + ".yaml";
        struct stat st {};
        if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode))
            return path;
    }
    return std::nullopt;
}

ProfileResult load_profile_file(const std::string& path) {
    Diagnostics diag(path);
    ProfileResult result;
    MeterProfile profile;
    profile.path = path;
    const std::string file_id = std::filesystem::path(path).stem().string();
    try {
        const std::optional<std::string> text = read_config_file(diag, path);
        std::optional<YAML::Node> root;
        if (text)
            root = parse_yaml(diag, *text);
        if (root) {
            MapReader top(diag, *root, "",
                          {"profile", "max_gap", "max_registers", "metadata_registers", "registers",
                           "fingerprint"},
                          Location{path, 1, 1});
            if (top.is_map() && top.require("profile")) {
                read_profile_header(top, file_id, profile);
                read_profile_body(top, profile);
                read_fingerprint(top, profile);
            }
        }
    } catch (const std::exception& e) {
        diag.error(Location{path, 0, 0},
                   std::string("internal error while reading the profile: ") + e.what());
    }
    result.errors = diag.errors();
    if (result.errors.empty())
        result.profile = std::move(profile);
    return result;
}

std::vector<ProfileResult> list_profiles(const std::vector<std::string>& dirs) {
    std::map<std::string, std::string> paths;  // id -> file, the first directory's
    for (const std::string& dir : dirs) {
        std::error_code ec;
        for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
            const auto& p = entry.path();
            if (p.extension() != ".yaml" || !is_profile_id(p.stem().string()))
                continue;
            paths.emplace(p.stem().string(), p.string());
        }
    }
    std::vector<ProfileResult> out;
    for (const auto& [id, path] : paths)
        out.push_back(load_profile_file(path));
    return out;
}

}  // namespace kaa::config
