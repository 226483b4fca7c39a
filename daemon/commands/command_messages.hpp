#pragma once
// 11/CEP payloads: the commands Kaa pushes (`[{"id": N, "payload": ...}]`) and the results
// the gateway answers with (`[{"id": N, "statusCode": C, "reasonPhrase": "...", ...}]`).

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.hpp"

namespace kaa::commands {

/// One command as Kaa pushed it.
struct PushedCommand {
    int64_t id = 0;
    nlohmann::json payload;  // null when the command has none
};

/// Commands one pushed message may carry; more are answered 503 and not run.
constexpr size_t kMaxCommandsPerMessage = 64;

/// What a pushed message held: its commands, and what could not be read (items without
/// an integer id cannot be answered: they are only logged).
struct PushedCommands {
    std::vector<PushedCommand> commands;
    std::vector<std::string> problems;  // printable, for the log
};

/// Reads `[{"id": N, "payload": ...}, ...]` (a single object is taken as one command). The
/// error says, printably, why nothing could be read.
Result<PushedCommands> parse_pushed_commands(const std::string& payload);

/// The outcome of one command.
struct CommandResult {
    int64_t id = 0;
    int status_code = 200;
    std::string reason;              // reasonPhrase
    nlohmann::ordered_json payload;  // omitted when null
};

/// `[{"id": N, "statusCode": C, "reasonPhrase": "...", "payload": ...}]`: one result.
std::string result_message(const CommandResult& result);

}  // namespace kaa::commands
