// Reading pushed 11/CEP commands and writing their results.
#include "daemon/commands/command_messages.hpp"

#include <cstdint>

#include <fmt/format.h>

#include "core/printable.hpp"

namespace kaa::commands {

Result<PushedCommands> parse_pushed_commands(const std::string& payload) {
    auto j = nlohmann::json::parse(payload, nullptr, false);
    if (j.is_discarded())
        return make_error(ErrorKind::kInvalidArgument, "not JSON: " + printable(payload, 120));
    if (j.is_object())
        j = nlohmann::json::array({std::move(j)});
    if (!j.is_array()) {
        return make_error(ErrorKind::kInvalidArgument,
                          "not an array of commands: " + printable(j.dump(), 120));
    }
    PushedCommands out;
    for (size_t i = 0; i < j.size(); ++i) {
        nlohmann::json& item = j[i];
        const auto id = item.is_object() ? item.find("id") : item.end();
        const bool usable = id != item.end() && id->is_number_integer() &&
                            !(id->is_number_unsigned() && id->get<uint64_t>() > INT64_MAX);
        if (!usable) {
            out.problems.push_back(
                fmt::format("item {} has no integer \"id\": {}", i, printable(item.dump(), 120)));
            continue;
        }
        PushedCommand command;
        command.id = id->get<int64_t>();
        if (auto p = item.find("payload"); p != item.end())
            command.payload = std::move(*p);
        out.commands.push_back(std::move(command));
    }
    return out;
}

std::string result_message(const CommandResult& result) {
    nlohmann::ordered_json item;
    item["id"] = result.id;
    item["statusCode"] = result.status_code;
    item["reasonPhrase"] = result.reason;
    if (!result.payload.is_null())
        item["payload"] = result.payload;
    // Text from meters and the platform may not be UTF-8: replace, never throw.
    return nlohmann::ordered_json::array({std::move(item)})
        .dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace kaa::commands
