#pragma once
// CommandCenter: Kaa's commands to meters (11/CEP). It recognises pushed commands (with or
// without a subscription; after every connect it also asks for the pending ones), checks
// each against the meter's configuration, queues the valid ones on the meter's bus, and
// answers every command it can: 200 with values, 400 (invalid, nothing done), 404 (unknown
// type), 502/504 (the meter refused or did not answer), 503 (the bus is busy). A command id
// delivered twice is run once; results are sent again after a reconnect until Kaa confirms
// them. Single-threaded: the gateway's main loop calls every method.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "core/clock.hpp"
#include "daemon/commands/command_messages.hpp"
#include "daemon/commands/job_runner.hpp"
#include "daemon/commands/platform_requests.hpp"
#include "daemon/kaa/command_topics.hpp"
#include "daemon/kaa/mqtt_client.hpp"
#include "drivers/modbus/write_plan.hpp"

namespace kaa::commands {

/// How the command center behaves; from the kaa: section.
struct CommandSettings {
    std::string app_version;
    int qos = 1;
    bool observe = true;  // after every connect, ask each meter's token for pending commands
    std::chrono::milliseconds response_timeout{30000};  // for Kaa's answer to a result
};

/// Running totals, for logs and tests.
struct CommandCounters {
    uint64_t received = 0;      // commands for our tokens
    uint64_t executed = 0;      // jobs that ran on a bus
    uint64_t duplicates = 0;    // a command id seen before: not run again
    uint64_t rejected = 0;      // answered 400
    uint64_t unknown_type = 0;  // answered 404
    uint64_t busy = 0;          // answered 503
    uint64_t foreign = 0;       // for a token the gateway does not serve: ignored
    uint64_t unreadable = 0;    // pushed messages or items that could not be read
    uint64_t results_sent = 0;
    uint64_t results_confirmed = 0;  // Kaa answered /status
    uint64_t results_refused = 0;    // Kaa answered /error
};

/// The 11/CEP side of the gateway.
class CommandCenter {
  public:
    /// Hands a finished job back to the main loop; called on a bus thread.
    using PostDone = std::function<void(uint64_t job, modbus::MeterJobResult result)>;

    CommandCenter(CommandSettings settings, uplink::MqttClient& mqtt, JobRunner& runner,
                  const Clock& clock, PostDone post_done);

    /// The meters served from now on (at start and after a reload); `active` per meter slot.
    void set_meters(std::shared_ptr<const config::GatewayConfig> config,
                    const std::vector<bool>& active);
    /// The connection is up: subscribe, ask for pending commands, send unconfirmed results.
    void handle_connected();
    void handle_disconnected() { connected_ = false; }
    /// A message from the platform; true when it was on a command topic (handled here).
    bool handle_message(const std::string& topic, const std::string& payload);
    /// A job's outcome, handed back by PostDone.
    void finish(uint64_t job, modbus::MeterJobResult result);
    /// Forgets results Kaa never answered within response_timeout (they are not resent).
    void check_timeouts();
    const CommandCounters& counters() const { return counters_; }

    /// Command ids remembered per center for duplicate detection.
    static constexpr size_t kRememberedCommands = 4096;
    /// Results kept until Kaa confirms them.
    static constexpr size_t kMaxUnconfirmedResults = 1024;

  private:
    /// A command whose job runs on a bus.
    struct Running {
        std::string key;  // in seen_
        std::string token;
        std::string type;
        int64_t id = 0;
        size_t meter = 0;
        std::shared_ptr<const config::GatewayConfig> config;  // `writes` point into it
        std::vector<modbus::PlannedWrite> writes;
    };
    /// A command id seen: running, or answered with `result`.
    struct Seen {
        bool answered = false;
        std::string token;
        std::string type;
        std::string result;  // the result message, to send again for a duplicate
    };
    /// A result sent (or to send) and not yet confirmed.
    struct Unconfirmed {
        std::string token;
        std::string type;
        std::string message;
        bool sent = false;
        Clock::Monotonic deadline{};
    };

    void handle_push(const uplink::CommandTopic& topic, const std::string& payload);
    void run_command(size_t meter, const uplink::CommandTopic& topic, PushedCommand command);
    /// Checks and queues one command; returns its answer when it is answered at once.
    std::optional<CommandResult> start_job(size_t meter, const std::string& key,
                                           const uplink::CommandTopic& topic,
                                           const PushedCommand& command);
    void answer(const std::string& key, const std::string& token, const std::string& type,
                const CommandResult& result);
    void send_result(const std::string& token, const std::string& type, std::string message);
    void publish(uint32_t rid, Unconfirmed& result);
    void remember(const std::string& key, Seen seen);
    void log_writes(const Running& running, const modbus::MeterJobResult& result);

    CommandSettings settings_;
    uplink::MqttClient& mqtt_;
    JobRunner& runner_;
    const Clock& clock_;
    PostDone post_done_;
    uplink::CommandTopics topics_;
    std::shared_ptr<const config::GatewayConfig> config_;
    std::map<std::string, size_t> meter_by_token_;
    bool connected_ = false;
    uint64_t next_job_ = 1;
    RequestIds rids_;
    std::map<uint64_t, Running> running_;
    std::unordered_map<std::string, Seen> seen_;
    std::deque<std::string> seen_order_;  // oldest first, for forgetting
    std::map<uint32_t, Unconfirmed> unconfirmed_;
    CommandCounters counters_;
    LimitedWarnings warnings_;
};

}  // namespace kaa::commands
