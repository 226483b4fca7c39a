// Kaa's commands to meters: receiving, checking, running once, answering.
#include "daemon/commands/command_center.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/printable.hpp"
#include "daemon/commands/command_answers.hpp"

namespace kaa::commands {
namespace {

constexpr const char* kComponent = "commands";
constexpr const char* kObserveRequest = "{\"observe\":true}";

}  // namespace

CommandCenter::CommandCenter(CommandSettings settings, uplink::MqttClient& mqtt, JobRunner& runner,
                             const Clock& clock, PostDone post_done)
    : settings_(std::move(settings)),
      mqtt_(mqtt),
      runner_(runner),
      clock_(clock),
      post_done_(std::move(post_done)),
      topics_(settings_.app_version),
      warnings_(clock, kComponent) {}

void CommandCenter::set_meters(std::shared_ptr<const config::GatewayConfig> config,
                               const std::vector<bool>& active) {
    config_ = std::move(config);
    meter_by_token_.clear();
    for (size_t m = 0; m < config_->meters.size(); ++m) {
        if (m < active.size() && active[m])
            meter_by_token_.emplace(config_->meters[m].token, m);
    }
}

void CommandCenter::handle_connected() {
    connected_ = true;
    for (const std::string& filter : topics_.filters()) {
        if (auto st = mqtt_.subscribe(filter, settings_.qos); !st)
            warnings_.warn("subscribe",
                           fmt::format("cannot subscribe to {}: {}", filter, st.error().message));
    }
    if (settings_.observe && config_) {
        // Commands sent while the gateway was away wait on the platform: ask for them.
        for (const auto& [token, meter] : meter_by_token_) {
            const bool writable = !config_->meters[meter].writable.empty();
            for (const char* type : {"read", "write"}) {
                if (std::string(type) == "write" && !writable)
                    continue;
                (void)mqtt_.publish(topics_.observe(token, type, rids_.next()), kObserveRequest,
                                    settings_.qos);
            }
        }
    }
    for (auto& [rid, result] : unconfirmed_)
        publish(rid, result);
}

bool CommandCenter::handle_message(const std::string& topic, const std::string& payload) {
    const auto parsed = topics_.parse(topic);
    if (!parsed)
        return false;
    using Kind = uplink::CommandTopic::Kind;
    switch (parsed->kind) {
        case Kind::kCommandPush:
            handle_push(*parsed, payload);
            return true;
        case Kind::kObserveError:
            warnings_.warn("observe",
                           fmt::format("Kaa refused the request for pending '{}' commands of "
                                       "token {}: {}",
                                       printable(parsed->type, 60), printable(parsed->token, 80),
                                       printable(payload, 300)));
            return true;
        case Kind::kResultReply: {
            const auto it = unconfirmed_.find(parsed->request_id);
            if (it == unconfirmed_.end())
                return true;  // answered already, or forgotten: nothing to do
            if (parsed->success) {
                ++counters_.results_confirmed;
            } else {
                ++counters_.results_refused;
                warnings_.warn(
                    "result",
                    fmt::format("Kaa refused the result of a '{}' command of token {}: "
                                "{}",
                                it->second.type, it->second.token, printable(payload, 300)));
            }
            unconfirmed_.erase(it);
            return true;
        }
        default:
            return false;  // 7/CMP: not the commands' business
    }
}

void CommandCenter::handle_push(const uplink::CommandTopic& topic, const std::string& payload) {
    const auto meter = meter_by_token_.find(topic.token);
    if (meter == meter_by_token_.end()) {
        ++counters_.foreign;
        spdlog::debug("{}: a command for token {}, which this gateway does not serve: ignored",
                      kComponent, printable(topic.token, 80));
        return;
    }
    auto parsed = parse_pushed_commands(payload);
    if (!parsed) {
        ++counters_.unreadable;
        warnings_.warn(
            "unreadable",
            fmt::format("unreadable '{}' commands for meter {}: {}", printable(topic.type, 60),
                        config_->meters[meter->second].name, parsed.error().message));
        return;
    }
    for (const std::string& problem : parsed.value().problems) {
        ++counters_.unreadable;
        warnings_.warn(
            "unreadable-item",
            fmt::format("a '{}' command for meter {} cannot be answered: {}",
                        printable(topic.type, 60), config_->meters[meter->second].name, problem));
    }
    size_t taken = 0;
    for (PushedCommand& command : parsed.value().commands) {
        ++counters_.received;
        const std::string key = topic.token + '\n' + topic.type + '\n' + std::to_string(command.id);
        if (const auto seen = seen_.find(key); seen != seen_.end()) {
            ++counters_.duplicates;
            if (seen->second.answered)
                send_result(topic.token, topic.type, seen->second.result);  // it was lost
            continue;
        }
        if (++taken > kMaxCommandsPerMessage) {
            ++counters_.busy;  // not remembered: sent again, it runs
            send_result(topic.token, topic.type,
                        result_message(CommandResult{
                            command.id, 503,
                            fmt::format("not run: more than {} commands in one message",
                                        kMaxCommandsPerMessage),
                            nullptr}));
            continue;
        }
        run_command(meter->second, topic, std::move(command));
    }
}

void CommandCenter::run_command(size_t meter, const uplink::CommandTopic& topic,
                                PushedCommand command) {
    const std::string key = topic.token + '\n' + topic.type + '\n' + std::to_string(command.id);
    if (auto immediate = start_job(meter, key, topic, command)) {
        if (immediate->status_code != 200) {
            warnings_.warn("refused:" + config_->meters[meter].name,
                           fmt::format("meter {}: '{}' command {} answered {}: {}",
                                       config_->meters[meter].name, printable(topic.type, 60),
                                       command.id, immediate->status_code, immediate->reason));
        }
        if (immediate->status_code == 503)  // not run: sent again, it may run
            send_result(topic.token, topic.type, result_message(*immediate));
        else
            answer(key, topic.token, topic.type, *immediate);
    }
}

std::optional<CommandResult> CommandCenter::start_job(size_t meter, const std::string& key,
                                                      const uplink::CommandTopic& topic,
                                                      const PushedCommand& command) {
    const config::MeterConfig& m = config_->meters[meter];
    modbus::MeterJob job;
    job.meter_index = meter;
    Running running{key, topic.token, topic.type, command.id, meter, config_, {}};
    if (topic.type == "write") {
        auto planned = modbus::plan_write_command(m, command.payload);
        if (!planned) {
            ++counters_.rejected;
            return CommandResult{command.id, 400, planned.error().message, nullptr};
        }
        for (const modbus::PlannedWrite& w : planned.value())
            job.writes.push_back(w.request);
        running.writes = std::move(planned.value());
    } else if (topic.type == "read") {
        auto registers = plan_read_command(m, command.payload);
        if (!registers) {
            ++counters_.rejected;
            return CommandResult{command.id, 400, registers.error().message, nullptr};
        }
        job.reads = std::move(registers.value());
    } else {
        ++counters_.unknown_type;
        return CommandResult{command.id, 404,
                             fmt::format("unknown command type '{}'; this gateway serves: {}",
                                         printable(topic.type, 60), kKnownTypes),
                             nullptr};
    }
    const uint64_t job_id = next_job_++;
    job.done = [post = post_done_, job_id](modbus::MeterJobResult r) {
        post(job_id, std::move(r));
    };
    if (auto st = runner_.submit(std::move(job)); !st) {
        ++counters_.busy;
        return CommandResult{command.id, 503, "not run: " + st.error().message, nullptr};
    }
    remember(key, Seen{false, topic.token, topic.type, ""});
    running_.emplace(job_id, std::move(running));
    return std::nullopt;
}

void CommandCenter::finish(uint64_t job, modbus::MeterJobResult result) {
    const auto it = running_.find(job);
    if (it == running_.end())
        return;
    Running running = std::move(it->second);
    running_.erase(it);
    ++counters_.executed;
    const config::MeterConfig& meter = running.config->meters[running.meter];
    CommandResult answer_now;
    if (running.type == "write") {
        log_writes(running, result);
        answer_now = write_answer(running.id, meter, running.writes, result);
    } else {
        answer_now = read_answer(running.id, result);
    }
    if (answer_now.status_code != 200) {
        warnings_.warn(
            "failed:" + meter.name,
            fmt::format("meter {}: '{}' command {} answered {}: {}", meter.name, running.type,
                        running.id, answer_now.status_code, answer_now.reason));
    }
    answer(running.key, running.token, running.type, answer_now);
}

void CommandCenter::log_writes(const Running& running, const modbus::MeterJobResult& result) {
    const config::MeterConfig& meter = running.config->meters[running.meter];
    for (size_t i = 0; i < running.writes.size() && i < result.writes.size(); ++i) {
        const modbus::WriteResult& r = result.writes[i];
        if (!r.status.ok())
            continue;
        const config::RegisterConfig& reg = running.writes[i].writable->reg;
        const std::string before =
            r.before.ok() ? value_of(reg, r.before.value()).dump() : std::string("(not read)");
        const std::string after = r.read_back.ok() ? value_of(reg, r.read_back.value()).dump()
                                                   : running.writes[i].value.dump();
        spdlog::info("{}: meter {}: {} {} -> {} (command {} on token {})", kComponent, meter.name,
                     reg.name, before, after, running.id, running.token);
    }
}

void CommandCenter::answer(const std::string& key, const std::string& token,
                           const std::string& type, const CommandResult& result) {
    std::string message = result_message(result);
    if (auto it = seen_.find(key); it != seen_.end()) {
        it->second.answered = true;
        it->second.result = message;
    } else {
        remember(key, Seen{true, token, type, message});
    }
    send_result(token, type, std::move(message));
}

void CommandCenter::send_result(const std::string& token, const std::string& type,
                                std::string message) {
    if (unconfirmed_.size() >= kMaxUnconfirmedResults) {
        warnings_.warn("unconfirmed",
                       fmt::format("{} command results wait for Kaa's confirmation: the "
                                   "oldest is no longer sent again",
                                   unconfirmed_.size()));
        unconfirmed_.erase(unconfirmed_.begin());
    }
    const uint32_t rid = rids_.next();
    Unconfirmed& result = unconfirmed_[rid];
    result = Unconfirmed{token, type, std::move(message), false, {}};
    if (connected_)
        publish(rid, result);
}

void CommandCenter::publish(uint32_t rid, Unconfirmed& result) {
    auto sent = mqtt_.publish(topics_.result(result.token, result.type, rid), result.message,
                              settings_.qos);
    if (!sent)
        return;  // the connection is going: sent after the next connect
    result.sent = true;
    result.deadline = clock_.now() + settings_.response_timeout;
    ++counters_.results_sent;
}

void CommandCenter::check_timeouts() {
    const auto now = clock_.now();
    for (auto it = unconfirmed_.begin(); it != unconfirmed_.end();) {
        if (it->second.sent && it->second.deadline <= now)
            it = unconfirmed_.erase(it);  // Kaa has it (PUBACK) or the command expired
        else
            ++it;
    }
}

void CommandCenter::remember(const std::string& key, Seen seen) {
    while (seen_order_.size() >= kRememberedCommands) {
        seen_.erase(seen_order_.front());
        seen_order_.pop_front();
    }
    if (seen_.emplace(key, std::move(seen)).second)
        seen_order_.push_back(key);
}

}  // namespace kaa::commands
