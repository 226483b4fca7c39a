#pragma once
// Command answers: what a `write` or `read` command asks of a meter, checked against its
// configuration, and the result Kaa gets once the meter's bus has run it.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "core/result.hpp"
#include "daemon/commands/command_messages.hpp"
#include "drivers/modbus/meter_jobs.hpp"
#include "drivers/modbus/write_plan.hpp"

namespace kaa::commands {

/// The command types the gateway serves, for 404 answers.
constexpr const char* kKnownTypes = "read, write";

/// The registers a `read` command names: null, {} or [] for all of the meter's registers
/// (polled, metadata and writable ones), else an array of their names. The error lists
/// every unknown name.
Result<std::vector<config::RegisterConfig>> plan_read_command(const config::MeterConfig& meter,
                                                              const nlohmann::json& payload);

/// The answer to a write command whose job ran: 200 with the values read back, 502 for a
/// Modbus exception or a bad reply (named), 504 when the meter or its bus did not answer.
CommandResult write_answer(int64_t id, const config::MeterConfig& meter,
                           const std::vector<modbus::PlannedWrite>& writes,
                           const modbus::MeterJobResult& result);

/// The answer to a read command whose job ran: 200 with the values read (the reason names
/// what was not read), 504 or 502 when nothing could be read.
CommandResult read_answer(int64_t id, const modbus::MeterJobResult& result);

/// The value of `reg` in `words` as a poll would publish it (scaled; a coil's bit as bool).
nlohmann::ordered_json value_of(const config::RegisterConfig& reg,
                                const std::vector<uint16_t>& words);

/// The status code for a failure of this kind: 504 for timeouts and links, else 502.
int status_code_of(const Error& error);

}  // namespace kaa::commands
