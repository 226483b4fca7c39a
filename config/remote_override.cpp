// Laying a pushed configuration over the local file, and naming errors by JSON path.
#include "config/remote_override.hpp"

#include <yaml-cpp/yaml.h>

#include "config/yaml_reader.hpp"

namespace kaa::config {
namespace {

using nlohmann::json;

json to_json(const YAML::Node& node) {
    switch (node.Type()) {
        case YAML::NodeType::Map: {
            json out = json::object();
            for (const auto& item : node)
                out[item.first.as<std::string>()] = to_json(item.second);
            return out;
        }
        case YAML::NodeType::Sequence: {
            json out = json::array();
            for (const auto& item : node)
                out.push_back(to_json(item));
            return out;
        }
        case YAML::NodeType::Scalar:
            return node.Scalar();
        default:
            return nullptr;
    }
}

/// JSON text with one value per line, and the JSON path of what each line starts.
class PathPrinter {
  public:
    void print(const json& v, const std::string& path, int indent) {
        if (v.is_object() && !v.empty()) {
            text_ += "{\n";
            size_t i = 0;
            for (const auto& [key, child] : v.items()) {
                const std::string child_path = path.empty() ? key : path + "." + key;
                start_line(child_path, indent + 1);
                text_ += json(key).dump(-1, ' ', false, json::error_handler_t::replace) + ": ";
                print(child, child_path, indent + 1);
                text_ += ++i < v.size() ? ",\n" : "\n";
            }
            start_line(path, indent);
            text_ += "}";
        } else if (v.is_array() && !v.empty()) {
            text_ += "[\n";
            for (size_t i = 0; i < v.size(); ++i) {
                const std::string child_path = path + "[" + std::to_string(i) + "]";
                start_line(child_path, indent + 1);
                print(v[i], child_path, indent + 1);
                text_ += i + 1 < v.size() ? ",\n" : "\n";
            }
            start_line(path, indent);
            text_ += "]";
        } else {
            text_ += v.dump(-1, ' ', false, json::error_handler_t::replace);
        }
    }
    /// The path of what line `line` (1-based) starts, or "" for the document.
    std::string path_of(int line) const {
        return line >= 1 && static_cast<size_t>(line) <= paths_.size()
                   ? paths_[static_cast<size_t>(line) - 1]
                   : std::string();
    }
    const std::string& text() const { return text_; }
    void begin() { paths_.push_back(""); }

  private:
    void start_line(const std::string& path, int indent) {
        paths_.push_back(path);
        text_.append(static_cast<size_t>(2 * indent), ' ');
    }
    std::string text_;
    std::vector<std::string> paths_;  // per line
};

}  // namespace

LoadResult read_file_as_json(const std::string& local_path, nlohmann::json& out) {
    Diagnostics diag(local_path);
    LoadResult result;
    if (const auto text = read_config_file(diag, local_path)) {
        try {
            if (auto root = parse_yaml(diag, *text))
                out = to_json(*root);
        } catch (const std::exception& e) {
            diag.error(Location{local_path, 0, 0},
                       std::string("cannot read it as a document: ") + e.what());
        }
    }
    result.errors = diag.errors();
    result.warnings = diag.warnings();
    return result;
}

LoadResult load_with_override(const std::string& local_path, const nlohmann::json& pushed,
                              const LoadOptions& options) {
    json merged;
    LoadResult local = read_file_as_json(local_path, merged);
    if (!local.errors.empty())
        return local;
    if (!pushed.is_object()) {
        LoadResult result;
        result.errors.push_back(ConfigError{
            Location{kRemoteConfigName, 0, 0},
            "must be an object of the file's sections, got " + std::string(pushed.type_name())});
        return result;
    }
    merged.merge_patch(pushed);
    PathPrinter printer;
    printer.begin();
    printer.print(merged, "", 0);
    LoadResult result = load_gateway_config_text(printer.text(), kRemoteConfigName, options);
    for (auto* list : {&result.errors, &result.warnings}) {
        for (ConfigError& e : *list) {
            if (e.where.file != kRemoteConfigName)
                continue;  // a file the configuration names (a profile, a password file)
            const std::string path = printer.path_of(e.where.line);
            e.message = (path.empty() ? std::string("(the document)") : path) + ": " + e.message;
            e.where.line = 0;
            e.where.column = 0;
        }
    }
    if (result.config)
        result.config->source_path = local_path;
    return result;
}

}  // namespace kaa::config
