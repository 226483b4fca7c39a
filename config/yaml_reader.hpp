#pragma once
// A small layer over yaml-cpp for reading configuration files: every mapping declares
// its keys, unknown keys and wrong types become errors with file:line:column, and all
// errors of a file are collected instead of stopping at the first one.
//
// Internal to config/: only config/*.cpp (and the config-internal common_sections.hpp and
// meter_sections.hpp) include it, so that yaml-cpp stays out of every other folder. What
// others need, ConfigError and the loaders, is in config_error.hpp, config_loader.hpp and
// sim_config_loader.hpp.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "config/config_error.hpp"

namespace kaa::config {

/// Collects the errors and warnings of one file, so that all of them are reported at once.
class Diagnostics {
  public:
    /// The longest message kept (values quoted in it are escaped and cut to fit).
    static constexpr size_t kMaxMessageBytes = 1000;
    /// Errors kept per file; beyond them only the count grows (the last line says so).
    static constexpr size_t kMaxErrors = kMaxConfigErrors;
    /// Mappings, list items and metadata values read per file: far beyond any real
    /// configuration (100 meters x 20 registers is about 5,000), and the bound that keeps
    /// YAML aliases repeating large parts of a small file from costing minutes and GiBs.
    static constexpr size_t kMaxNodes = 200'000;
    /// Starts an empty collection for the named file.
    explicit Diagnostics(std::string file) : file_(std::move(file)) {}

    /// The file name every location refers to.
    const std::string& file() const { return file_; }
    /// The 1-based position of a node, or fallback when yaml-cpp does not know it.
    Location locate(const YAML::Node& node, const Location& fallback) const;
    /// The position of a yaml-cpp mark (0-based) as a 1-based Location.
    Location locate(const YAML::Mark& mark) const;
    /// Records an error.
    void error(Location where, std::string message);
    /// Records a warning: worth telling, but the configuration is usable.
    void warning(Location where, std::string message);
    /// True once any error has been recorded.
    bool has_errors() const { return !errors_.empty(); }
    /// How many errors have been recorded so far (also those beyond kMaxErrors).
    size_t error_count() const { return errors_.size() + errors_dropped_; }
    /// Counts `n` nodes read from the file at `where`; false once the file's kMaxNodes are
    /// used up (one error says so, at the node where it happened): stop reading then.
    bool spend(const Location& where, size_t n = 1);
    /// The errors recorded so far, ordered by position in the file.
    std::vector<ConfigError> errors() const;
    /// The warnings recorded so far, ordered by position in the file.
    std::vector<ConfigError> warnings() const;

  private:
    std::string file_;
    std::vector<ConfigError> errors_;
    size_t errors_dropped_ = 0;
    size_t nodes_left_ = kMaxNodes;
    bool budget_spent_ = false;  // spend() has said so once
    std::vector<ConfigError> warnings_;
};

/// Reads a whole file; when it cannot be read, records one error naming the path.
std::optional<std::string> read_config_file(Diagnostics& diag, const std::string& path);

/// Parses YAML text; a syntax error is recorded with its position and nullopt returned.
std::optional<YAML::Node> parse_yaml(Diagnostics& diag, const std::string& text);

/// Describes a node for messages: "'abc'", "a mapping", "a list" or "nothing".
std::string describe(const YAML::Node& node);

/// Joins names with ", " for messages ("a, b, c").
std::string join(const std::vector<std::string>& names);

/// The label of a list item in messages: "<kind> '<name>'" when the item has a scalar
/// `name` key, otherwise "<list>[<index>]".
std::string item_label(const YAML::Node& item, std::string_view kind, std::string_view list,
                       size_t index);

/// Converts a YAML value to JSON. Quoted scalars stay strings; plain scalars become null
/// (~, null), a boolean (true, false), an integer, a number, or else a string; lists and
/// mappings convert item by item. nullopt when nested deeper than 32 levels or when the
/// file's node budget (Diagnostics::spend) is used up, which is also how aliases that
/// refer to themselves end.
std::optional<nlohmann::json> yaml_to_json(const YAML::Node& node, Diagnostics& diag);

/// Whether a key must be present.
enum class Need { kOptional, kRequired };

/// Reads one YAML mapping whose keys are declared up front. Construction reports a node
/// that is not a mapping, unknown keys (listing the allowed ones) and duplicate keys; the
/// typed getters report missing required keys and values of the wrong type or range.
/// A null node (a key with no value) reads as an empty mapping.
/// The longest duration any key takes: a year (8760h).
inline constexpr Millis kMaxDuration = std::chrono::hours(24 * 365);

class MapReader {
  public:
    /// Checks node against the allowed keys; section names it in messages ("kaa.tls"; empty
    /// for the top level of the file).
    /// fallback is used as the mapping's location when yaml-cpp has none (null nodes).
    MapReader(Diagnostics& diag, const YAML::Node& node, std::string section,
              std::vector<std::string> allowed, Location fallback);

    /// False when the node was not a mapping (already reported); getters then see no keys.
    bool is_map() const { return is_map_; }
    /// The section name used in messages.
    const std::string& section() const { return section_; }
    /// Where the mapping starts.
    const Location& where() const { return where_; }
    /// The collection errors go to.
    Diagnostics& diag() const { return diag_; }

    /// True when the key is present (even with a null value).
    bool has(std::string_view key) const;
    /// The value of a key, or a null Node when absent.
    YAML::Node get(std::string_view key) const;
    /// Where the key itself is written (the mapping's position when absent).
    Location key_where(std::string_view key) const;
    /// Where the value of a key is written (the key's position for null values).
    Location value_where(std::string_view key) const;

    /// Reports "missing required key '<key>' in <section>" when absent; returns presence.
    bool require(std::string_view key) const;
    /// Records the error "<section>: <key> <text>" at the key's value.
    void fail(std::string_view key, const std::string& text) const;
    /// Records the warning "<section>: <key> <text>" at the key's value.
    void warn(std::string_view key, const std::string& text) const;

    /// A non-empty scalar, as written.
    std::optional<std::string> string(std::string_view key, Need need = Need::kOptional) const;
    /// A decimal or 0x-hexadecimal integer in [min, max].
    std::optional<int64_t> integer(std::string_view key, int64_t min, int64_t max,
                                   Need need = Need::kOptional) const;
    /// A finite decimal number.
    std::optional<double> number(std::string_view key, Need need = Need::kOptional) const;
    /// true or false.
    std::optional<bool> boolean(std::string_view key, Need need = Need::kOptional) const;
    /// A duration with a unit ("500ms", "10s").
    std::optional<Millis> duration(std::string_view key, Need need = Need::kOptional) const;
    /// A size with a unit ("64KiB", "256MiB").
    std::optional<uint64_t> size(std::string_view key, Need need = Need::kOptional) const;
    /// A list (null reads as empty); each item is returned with its node.
    std::optional<std::vector<YAML::Node>> list(std::string_view key,
                                                Need need = Need::kOptional) const;

    /// One of a fixed set of words; reports "must be one of a, b, got 'x'" otherwise.
    template <typename E>
    std::optional<E> choice(std::string_view key,
                            const std::vector<std::pair<std::string, E>>& options,
                            Need need = Need::kOptional) const {
        auto word = scalar(key, need, "one of " + option_names(options));
        if (!word) {
            return std::nullopt;
        }
        for (const auto& [name, value] : options) {
            if (name == *word) {
                return value;
            }
        }
        fail(key, "must be one of " + option_names(options) + ", got '" + *word + "'");
        return std::nullopt;
    }

  private:
    struct Entry {
        std::string key;
        YAML::Node key_node;
        YAML::Node value;
    };

    const Entry* find(std::string_view key) const;
    /// "in <section>", or "at the top level" for the unnamed root section.
    std::string in_section() const;
    /// "<section>: <key>", or just the key at the top level.
    std::string prefix(std::string_view key) const;
    /// The scalar text of a present key; reports missing keys and non-scalars (as "expected").
    std::optional<std::string> scalar(std::string_view key, Need need,
                                      const std::string& expected) const;
    /// Reports "<section>: <key>: expected <expected>, got <what was written>".
    void type_error(std::string_view key, const std::string& expected) const;

    template <typename E>
    static std::string option_names(const std::vector<std::pair<std::string, E>>& options) {
        std::vector<std::string> names;
        for (const auto& option : options) {
            names.push_back(option.first);
        }
        return join(names);
    }

    Diagnostics& diag_;
    std::string section_;
    Location where_;
    bool is_map_ = false;
    std::vector<Entry> entries_;
};

}  // namespace kaa::config
