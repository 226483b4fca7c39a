// Key-checked reading of YAML mappings, with every error collected and located.
#include "config/yaml_reader.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <tuple>

#include "config/units.hpp"
#include "core/printable.hpp"

namespace kaa::config {

namespace {

/// Orders messages by their position in the file.
bool before(const ConfigError& a, const ConfigError& b) {
    return std::tie(a.where.line, a.where.column) < std::tie(b.where.line, b.where.column);
}

/// The list ordered by position, keeping the recording order at equal positions.
std::vector<ConfigError> sorted(std::vector<ConfigError> list) {
    std::stable_sort(list.begin(), list.end(), before);
    return list;
}

/// "must be between a and b", or "must be at least a" without a real upper bound.
std::string range_text(int64_t min, int64_t max) {
    if (max == std::numeric_limits<int64_t>::max() || max == std::numeric_limits<int>::max()) {
        return "must be at least " + std::to_string(min);
    }
    return "must be between " + std::to_string(min) + " and " + std::to_string(max);
}

}  // namespace

Location Diagnostics::locate(const YAML::Mark& mark) const {
    if (mark.is_null() || mark.line < 0) {
        return Location{file_, 0, 0};
    }
    return Location{file_, mark.line + 1, mark.column + 1};
}

Location Diagnostics::locate(const YAML::Node& node, const Location& fallback) const {
    // yaml-cpp places an empty value at the next token, so null nodes use the fallback.
    if (!node.IsDefined() || node.IsNull() || node.Mark().is_null()) {
        return fallback;
    }
    return locate(node.Mark());
}

void Diagnostics::error(Location where, std::string message) {
    if (where.file.empty()) {
        where.file = file_;
    }
    // Messages quote values from the file: a newline or an escape sequence in one must not
    // forge a line of its own, nor a huge value flood the terminal.
    if (errors_.size() >= kMaxErrors) {
        ++errors_dropped_;
        return;
    }
    errors_.push_back(ConfigError{std::move(where), printable(message, kMaxMessageBytes)});
}

bool Diagnostics::spend(const Location& where, size_t n) {
    if (n <= nodes_left_) {
        nodes_left_ -= n;
        return true;
    }
    if (budget_spent_)
        return false;
    budget_spent_ = true;
    nodes_left_ = 0;
    // Kept even past kMaxErrors: it says why the rest of the file has no errors.
    errors_.push_back(ConfigError{
        where, "the file expands to more than " + std::to_string(kMaxNodes) +
                   " mappings, list items and values (YAML aliases repeating large parts of "
                   "it?); the rest of it was not read"});
    return false;
}

void Diagnostics::warning(Location where, std::string message) {
    if (where.file.empty()) {
        where.file = file_;
    }
    warnings_.push_back(ConfigError{std::move(where), printable(message, kMaxMessageBytes)});
}

std::vector<ConfigError> Diagnostics::errors() const {
    std::vector<ConfigError> out = sorted(errors_);
    if (errors_dropped_ > 0) {
        out.push_back(ConfigError{Location{file_, 0, 0}, "and " + std::to_string(errors_dropped_) +
                                                             " more errors (the first " +
                                                             std::to_string(kMaxErrors) +
                                                             " are shown)"});
    }
    return out;
}

std::vector<ConfigError> Diagnostics::warnings() const {
    return sorted(warnings_);
}

std::optional<std::string> read_config_file(Diagnostics& diag, const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) {
        int err = errno;
        diag.error(Location{path, 0, 0},
                   "cannot open config file '" + path + "': " + std::strerror(err));
        return std::nullopt;
    }
    std::string text;
    char chunk[4096];
    size_t n = 0;
    while ((n = std::fread(chunk, 1, sizeof chunk, f)) > 0) {
        text.append(chunk, n);
    }
    int err = std::ferror(f) ? errno : 0;
    std::fclose(f);
    if (err != 0) {
        diag.error(Location{path, 0, 0},
                   "cannot read config file '" + path + "': " + std::strerror(err));
        return std::nullopt;
    }
    return text;
}

std::optional<YAML::Node> parse_yaml(Diagnostics& diag, const std::string& text) {
    try {
        return YAML::Load(text);
    } catch (const YAML::Exception& e) {
        Location where = diag.locate(e.mark);
        if (where.line == 0) {
            where = Location{diag.file(), 1, 1};
        }
        diag.error(where, "invalid YAML: " + e.msg);
    }
    return std::nullopt;
}

std::string describe(const YAML::Node& node) {
    if (!node.IsDefined() || node.IsNull()) {
        return "nothing";
    }
    if (node.IsScalar()) {
        return "'" + node.Scalar() + "'";
    }
    return node.IsMap() ? "a mapping" : "a list";
}

std::string join(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& name : names) {
        if (!out.empty()) {
            out += ", ";
        }
        out += name;
    }
    return out;
}

std::string item_label(const YAML::Node& item, std::string_view kind, std::string_view list,
                       size_t index) {
    if (item.IsMap()) {
        for (auto it = item.begin(); it != item.end(); ++it) {
            if (it->first.IsScalar() && it->first.Scalar() == "name" && it->second.IsScalar() &&
                !it->second.Scalar().empty()) {
                return std::string(kind) + " '" + it->second.Scalar() + "'";
            }
        }
    }
    return std::string(list) + "[" + std::to_string(index) + "]";
}

namespace {

constexpr int kMaxJsonDepth = 32;

/// A scalar as JSON: quoted stays a string; plain becomes null, bool, integer, number or string.
nlohmann::json scalar_to_json(const YAML::Node& node) {
    const std::string& text = node.Scalar();
    // "!" marks a quoted scalar; an explicit !!str tag also asks for a string.
    if (node.Tag() == "!" || node.Tag() == "tag:yaml.org,2002:str") {
        return text;
    }
    if (text == "~" || text == "null" || text == "Null" || text == "NULL") {
        return nullptr;
    }
    if (text == "true" || text == "True" || text == "TRUE") {
        return true;
    }
    if (text == "false" || text == "False" || text == "FALSE") {
        return false;
    }
    if (auto integer = parse_integer(text)) {
        return *integer;
    }
    if (auto big = parse_unsigned(text)) {
        return *big;
    }
    if (auto number = parse_number(text)) {
        return *number;
    }
    return text;
}

/// yaml_to_json with limits: depth levels left, and the file's node budget.
std::optional<nlohmann::json> to_json_limited(const YAML::Node& node, int depth,
                                              Diagnostics& diag) {
    if (!diag.spend(diag.locate(node, Location{})))
        return std::nullopt;
    if (!node.IsDefined() || node.IsNull()) {
        return nullptr;
    }
    if (node.IsScalar()) {
        return scalar_to_json(node);
    }
    if (depth <= 0) {
        return std::nullopt;
    }
    nlohmann::json out = node.IsMap() ? nlohmann::json::object() : nlohmann::json::array();
    for (auto it = node.begin(); it != node.end(); ++it) {
        YAML::Node value = node.IsMap() ? YAML::Node(it->second) : YAML::Node(*it);
        auto item = to_json_limited(value, depth - 1, diag);
        if (!item) {
            return std::nullopt;
        }
        if (node.IsMap()) {
            out[it->first.IsScalar() ? it->first.Scalar() : describe(it->first)] = *item;
        } else {
            out.push_back(*item);
        }
    }
    return out;
}

}  // namespace

std::optional<nlohmann::json> yaml_to_json(const YAML::Node& node, Diagnostics& diag) {
    return to_json_limited(node, kMaxJsonDepth, diag);
}

MapReader::MapReader(Diagnostics& diag, const YAML::Node& node, std::string section,
                     std::vector<std::string> allowed, Location fallback)
    : diag_(diag), section_(std::move(section)), where_(diag.locate(node, fallback)) {
    if (!node.IsDefined() || node.IsNull()) {
        is_map_ = true;
        return;
    }
    if (!node.IsMap()) {
        std::string what = section_.empty() ? "the file" : section_;
        diag_.error(where_, what + ": expected a mapping with keys " + join(allowed) + ", got " +
                                describe(node));
        return;
    }
    if (!diag_.spend(where_, 1 + node.size())) {
        return;  // the file's node budget is used up: read no further
    }
    is_map_ = true;
    for (auto it = node.begin(); it != node.end(); ++it) {
        Location key_at = diag_.locate(it->first, where_);
        if (!it->first.IsScalar()) {
            diag_.error(key_at, "keys " + in_section() + " must be plain names, got " +
                                    describe(it->first));
            continue;
        }
        const std::string& key = it->first.Scalar();
        if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
            diag_.error(key_at, "unknown key '" + key + "' " + in_section() +
                                    "; allowed keys: " + join(allowed));
        } else if (find(key) != nullptr) {
            diag_.error(key_at, "duplicate key '" + key + "' " + in_section());
        } else {
            entries_.push_back(Entry{key, it->first, it->second});
        }
    }
}

const MapReader::Entry* MapReader::find(std::string_view key) const {
    for (const Entry& e : entries_) {
        if (e.key == key) {
            return &e;
        }
    }
    return nullptr;
}

std::string MapReader::in_section() const {
    return section_.empty() ? "at the top level" : "in " + section_;
}

std::string MapReader::prefix(std::string_view key) const {
    return section_.empty() ? std::string(key) : section_ + ": " + std::string(key);
}

bool MapReader::has(std::string_view key) const {
    return find(key) != nullptr;
}

YAML::Node MapReader::get(std::string_view key) const {
    const Entry* e = find(key);
    return e != nullptr ? e->value : YAML::Node();
}

Location MapReader::key_where(std::string_view key) const {
    const Entry* e = find(key);
    return e != nullptr ? diag_.locate(e->key_node, where_) : where_;
}

Location MapReader::value_where(std::string_view key) const {
    const Entry* e = find(key);
    return e != nullptr ? diag_.locate(e->value, key_where(key)) : where_;
}

bool MapReader::require(std::string_view key) const {
    if (has(key)) {
        return true;
    }
    diag_.error(where_, "missing required key '" + std::string(key) + "' " + in_section());
    return false;
}

void MapReader::fail(std::string_view key, const std::string& text) const {
    diag_.error(value_where(key), prefix(key) + " " + text);
}

void MapReader::warn(std::string_view key, const std::string& text) const {
    diag_.warning(value_where(key), prefix(key) + " " + text);
}

void MapReader::type_error(std::string_view key, const std::string& expected) const {
    diag_.error(value_where(key),
                prefix(key) + ": expected " + expected + ", got " + describe(get(key)));
}

std::optional<std::string> MapReader::scalar(std::string_view key, Need need,
                                             const std::string& expected) const {
    const Entry* e = find(key);
    if (e == nullptr) {
        if (need == Need::kRequired) {
            require(key);
        }
        return std::nullopt;
    }
    if (!e->value.IsScalar()) {
        type_error(key, expected);
        return std::nullopt;
    }
    return e->value.Scalar();
}

std::optional<std::string> MapReader::string(std::string_view key, Need need) const {
    auto text = scalar(key, need, "a string");
    if (text && text->empty()) {
        fail(key, "must not be empty");
        return std::nullopt;
    }
    return text;
}

std::optional<int64_t> MapReader::integer(std::string_view key, int64_t min, int64_t max,
                                          Need need) const {
    auto text = scalar(key, need, "an integer");
    if (!text) {
        return std::nullopt;
    }
    auto value = parse_integer(*text);
    if (!value) {
        type_error(key, "an integer");
        return std::nullopt;
    }
    if (*value < min || *value > max) {
        fail(key, range_text(min, max) + ", got " + *text);
        return std::nullopt;
    }
    return value;
}

std::optional<double> MapReader::number(std::string_view key, Need need) const {
    auto text = scalar(key, need, "a number");
    if (!text) {
        return std::nullopt;
    }
    auto value = parse_number(*text);
    if (!value) {
        type_error(key, "a number");
    }
    return value;
}

std::optional<bool> MapReader::boolean(std::string_view key, Need need) const {
    auto text = scalar(key, need, "true or false");
    if (!text) {
        return std::nullopt;
    }
    if (*text == "true" || *text == "True" || *text == "TRUE") {
        return true;
    }
    if (*text == "false" || *text == "False" || *text == "FALSE") {
        return false;
    }
    type_error(key, "true or false");
    return std::nullopt;
}

std::optional<Millis> MapReader::duration(std::string_view key, Need need) const {
    static const std::string kExpected = "a duration like 500ms, 10s, 5min";
    auto text = scalar(key, need, kExpected);
    if (!text) {
        return std::nullopt;
    }
    auto value = parse_duration(*text);
    if (!value) {
        type_error(key, kExpected);
    } else if (*value > kMaxDuration) {
        // Longer ones have no use here, and would overflow the microsecond and nanosecond
        // arithmetic of schedules and bus-time estimates.
        fail(key, "must be at most 8760h (a year), got " + *text);
        return std::nullopt;
    }
    return value;
}

std::optional<uint64_t> MapReader::size(std::string_view key, Need need) const {
    static const std::string kExpected = "a size like 64KiB, 256MiB, 1GiB";
    auto text = scalar(key, need, kExpected);
    if (!text) {
        return std::nullopt;
    }
    auto value = parse_size(*text);
    if (!value) {
        type_error(key, kExpected);
    }
    return value;
}

std::optional<std::vector<YAML::Node>> MapReader::list(std::string_view key, Need need) const {
    const Entry* e = find(key);
    if (e == nullptr) {
        if (need == Need::kRequired) {
            require(key);
        }
        return std::nullopt;
    }
    if (e->value.IsNull()) {
        return std::vector<YAML::Node>{};
    }
    if (!e->value.IsSequence()) {
        type_error(key, "a list");
        return std::nullopt;
    }
    if (!diag_.spend(value_where(key), e->value.size())) {
        return std::nullopt;  // the file's node budget is used up: read no further
    }
    std::vector<YAML::Node> items;
    for (const auto& item : e->value) {
        items.push_back(item);
    }
    return items;
}

}  // namespace kaa::config
