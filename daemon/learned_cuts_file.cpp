// Reading and writing the learnt cuts as JSON:
//   {"version": 1, "meters": {"<name>@<bus>/<unit>": [{"function": "input", "address": 18}]}}
#include "daemon/learned_cuts_file.hpp"

#include <cerrno>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "core/atomic_file.hpp"

namespace kaa {
namespace {

constexpr size_t kMaxFileBytes = 4 << 20;  // 65536 cuts per table at most: far more than real

std::optional<config::RegisterFunction> function_named(const std::string& name) {
    for (auto f : {config::RegisterFunction::kCoil, config::RegisterFunction::kDiscrete,
                   config::RegisterFunction::kHolding, config::RegisterFunction::kInput}) {
        if (config::to_string(f) == name)
            return f;
    }
    return std::nullopt;
}

}  // namespace

std::string learned_cuts_path(const std::string& buffer_path) {
    return buffer_path + "-plans.json";
}

Result<modbus::LearnedCuts::Table> load_learned_cuts(const std::string& path) {
    auto text = read_small_file(path, kMaxFileBytes);
    if (!text && text.error().code == ENOENT)
        return modbus::LearnedCuts::Table{};
    if (!text)
        return text.error();
    const auto j = nlohmann::json::parse(text.value(), nullptr, false);
    const auto bad = [&](const std::string& why) {
        return make_error(ErrorKind::kInvalidArgument, fmt::format("{}: {}", path, why));
    };
    if (!j.is_object() || j.value("version", 0) != 1 || !j.contains("meters") ||
        !j["meters"].is_object())
        return bad("not a plans file of this version");
    modbus::LearnedCuts::Table table;
    for (const auto& [key, list] : j["meters"].items()) {
        if (!list.is_array())
            return bad("the cuts of " + key + " are not a list");
        std::vector<modbus::ReadCut> cuts;
        for (const auto& c : list) {
            const auto function =
                c.is_object() && c.contains("function") && c["function"].is_string()
                    ? function_named(c["function"].get<std::string>())
                    : std::nullopt;
            if (!function || !c.contains("address") || !c["address"].is_number_unsigned() ||
                c["address"].get<uint64_t>() > 65535)
                return bad("a cut of " + key + " is not {function, address}");
            cuts.push_back({*function, static_cast<uint16_t>(c["address"].get<uint64_t>())});
        }
        table[key] = std::move(cuts);
    }
    return table;
}

Status save_learned_cuts(const std::string& path, const modbus::LearnedCuts::Table& table) {
    nlohmann::json meters = nlohmann::json::object();
    for (const auto& [key, cuts] : table) {
        nlohmann::json list = nlohmann::json::array();
        for (const auto& cut : cuts)
            list.push_back(
                {{"function", config::to_string(cut.function)}, {"address", cut.address}});
        meters[key] = std::move(list);
    }
    const std::string text = nlohmann::json{{"version", 1}, {"meters", std::move(meters)}}.dump(
                                 1, ' ', false, nlohmann::json::error_handler_t::replace) +
                             "\n";
    return write_file_atomically(path, text);
}

}  // namespace kaa
