// CommandCenter: pushed 11/CEP commands checked, run once on the meter's bus, answered.
#include "daemon/commands/command_center.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/fakes/fake_clock.hpp"
#include "tests/fakes/fake_mqtt.hpp"
#include "tests/fakes/log_capture.hpp"

namespace kaa::commands {
namespace {

using config::ValueType;
using nlohmann::json;
using std::chrono::seconds;

constexpr const char* kAv = "av1";

/// Records the jobs it is given; refuses them while `full`.
class RecordingRunner final : public JobRunner {
  public:
    Status submit(modbus::MeterJob job) override {
        if (full)
            return make_error(ErrorKind::kUnavailable, "bus b has 64 commands waiting already");
        jobs.push_back(std::move(job));
        return {};
    }
    bool full = false;
    std::vector<modbus::MeterJob> jobs;
};

config::WritableConfig writable(const std::string& name, config::RegisterFunction function,
                                ValueType type, uint16_t address, double scale = 1.0) {
    config::WritableConfig w;
    w.reg.name = name;
    w.reg.function = function;
    w.reg.type = type;
    w.reg.address = address;
    w.reg.scale = scale;
    return w;
}

std::shared_ptr<const config::GatewayConfig> plant() {
    config::GatewayConfig c;
    config::MeterConfig m;
    m.name = "boiler";
    m.token = "tok-boiler";
    m.bus = "b";
    config::RegisterConfig power;
    power.name = "power";
    power.function = config::RegisterFunction::kInput;
    power.type = ValueType::kUint16;
    power.address = 3;
    m.registers = {power};
    m.writable = {
        writable("setpoint", config::RegisterFunction::kHolding, ValueType::kUint16, 30, 0.1),
        writable("relay", config::RegisterFunction::kCoil, ValueType::kBool, 0)};
    m.writable[0].max = 100;
    config::MeterConfig plain = m;
    plain.name = "plain";
    plain.token = "tok-plain";
    plain.writable.clear();
    c.meters = {m, plain};
    return std::make_shared<const config::GatewayConfig>(std::move(c));
}

class CommandCenterTest : public ::testing::Test {
  protected:
    CommandCenterTest()
        : center(CommandSettings{kAv, 1, true, std::chrono::milliseconds(30000)}, mqtt, runner,
                 clock, [this](uint64_t job, modbus::MeterJobResult r) {
                     done.emplace_back(job, std::move(r));
                 }) {
        center.set_meters(plant(), {true, true});
        center.handle_connected();
        mqtt.published.clear();
    }
    void push(const std::string& token, const std::string& type, const json& commands) {
        const std::string topic =
            std::string("kp1/") + kAv + "/cex/" + token + "/command/" + type + "/status";
        EXPECT_TRUE(center.handle_message(topic, commands.dump()));
    }
    /// Runs the job the runner got as `done` callbacks would, then hands it back.
    void complete(size_t k, modbus::MeterJobResult result) {
        ASSERT_LT(k, runner.jobs.size());
        runner.jobs[k].done(std::move(result));
        for (auto& [job, r] : done)
            center.finish(job, std::move(r));
        done.clear();
    }
    /// The results published so far, as JSON, with their topics.
    std::vector<std::pair<std::string, json>> results() const {
        std::vector<std::pair<std::string, json>> out;
        for (const auto& p : mqtt.published) {
            if (p.topic.find("/result/") != std::string::npos)
                out.emplace_back(p.topic, json::parse(p.payload));
        }
        return out;
    }

    fakes::FakeClock clock;
    fakes::FakeMqtt mqtt;
    RecordingRunner runner;
    std::vector<std::pair<uint64_t, modbus::MeterJobResult>> done;
    CommandCenter center;
};

modbus::WriteResult written(std::vector<uint16_t> before, std::vector<uint16_t> after) {
    modbus::WriteResult r;
    r.before = std::move(before);
    r.read_back = std::move(after);
    return r;
}

TEST_F(CommandCenterTest, AValidWriteIsQueuedWrittenAndAnsweredWithTheValueReadBack) {
    fakes::LogCapture log;
    push("tok-boiler", "write", json::array({{{"id", 7}, {"payload", {{"setpoint", 42.5}}}}}));
    ASSERT_EQ(runner.jobs.size(), 1u);
    ASSERT_EQ(runner.jobs[0].writes.size(), 1u);
    EXPECT_EQ(runner.jobs[0].meter_index, 0u);
    EXPECT_EQ(runner.jobs[0].writes[0].address, 30);
    EXPECT_EQ(runner.jobs[0].writes[0].words, std::vector<uint16_t>{425});
    EXPECT_TRUE(results().empty());  // answered only once written

    modbus::MeterJobResult r;
    r.writes = {written({100}, {425})};
    complete(0, std::move(r));
    const auto answers = results();
    ASSERT_EQ(answers.size(), 1u);
    EXPECT_EQ(answers[0].first.rfind("kp1/av1/cex/tok-boiler/result/write/", 0), 0u);
    EXPECT_EQ(answers[0].second,
              json::parse(R"([{"id":7,"statusCode":200,"reasonPhrase":"written and read back",
                               "payload":{"setpoint":42.5}}])"));
    EXPECT_EQ(log.count("boiler: setpoint 10.0 -> 42.5 (command 7 on token tok-boiler)"), 1u)
        << log.text();
}

TEST_F(CommandCenterTest, AnInvalidWriteIsRefusedWith400AndNothingIsQueued) {
    push("tok-boiler", "write",
         json::array({{{"id", 1}, {"payload", {{"setpoint", 500}}}},
                      {{"id", 2}, {"payload", {{"power", 1}}}},
                      {{"id", 3}, {"payload", {{"nope", 1}, {"setpoint", 1}}}},
                      {{"id", 4}, {"payload", "setpoint=1"}}}));
    EXPECT_TRUE(runner.jobs.empty());
    const auto answers = results();
    ASSERT_EQ(answers.size(), 4u);
    for (const auto& [topic, body] : answers)
        EXPECT_EQ(body[0]["statusCode"], 400) << body;
    EXPECT_NE(answers[0].second[0]["reasonPhrase"].get<std::string>().find("above its max 100"),
              std::string::npos);
    EXPECT_NE(answers[1].second[0]["reasonPhrase"].get<std::string>().find("read-only"),
              std::string::npos);
    EXPECT_NE(answers[2].second[0]["reasonPhrase"].get<std::string>().find("'nope'"),
              std::string::npos);
    EXPECT_EQ(center.counters().rejected, 4u);
}

TEST_F(CommandCenterTest, UnknownTypesAre404AndForeignTokensAreIgnored) {
    push("tok-boiler", "reboot", json::array({{{"id", 9}}}));
    push("tok-stranger", "write", json::array({{{"id", 10}, {"payload", {{"setpoint", 1}}}}}));
    const auto answers = results();
    ASSERT_EQ(answers.size(), 1u);
    EXPECT_EQ(answers[0].first.rfind("kp1/av1/cex/tok-boiler/result/reboot/", 0), 0u);
    EXPECT_EQ(answers[0].second[0]["statusCode"], 404);
    EXPECT_EQ(answers[0].second[0]["reasonPhrase"],
              "unknown command type 'reboot'; this gateway serves: read, write");
    EXPECT_EQ(center.counters().foreign, 1u);
    EXPECT_TRUE(runner.jobs.empty());
}

TEST_F(CommandCenterTest, ACommandIdDeliveredTwiceRunsOnceAndItsResultIsSentAgain) {
    const json command = json::array({{{"id", 5}, {"payload", {{"relay", true}}}}});
    push("tok-boiler", "write", command);
    push("tok-boiler", "write", command);  // while it runs: ignored
    ASSERT_EQ(runner.jobs.size(), 1u);
    EXPECT_EQ(runner.jobs[0].writes[0].words, std::vector<uint16_t>{1});
    modbus::MeterJobResult r;
    r.writes = {written({0}, {1})};
    complete(0, std::move(r));
    push("tok-boiler", "write", command);  // answered already: the same answer again
    EXPECT_EQ(runner.jobs.size(), 1u);
    const auto answers = results();
    ASSERT_EQ(answers.size(), 2u);
    EXPECT_EQ(answers[0].second, answers[1].second);
    EXPECT_EQ(answers[0].second[0]["payload"], json::parse(R"({"relay":true})"));
    EXPECT_EQ(center.counters().duplicates, 2u);
    // The same id under another type is another command.
    push("tok-boiler", "read", json::array({{{"id", 5}}}));
    EXPECT_EQ(runner.jobs.size(), 2u);
}

TEST_F(CommandCenterTest, AMeterThatRefusesOrDoesNotAnswerIs502Or504) {
    push("tok-boiler", "write", json::array({{{"id", 1}, {"payload", {{"setpoint", 1}}}}}));
    push("tok-boiler", "write", json::array({{{"id", 2}, {"payload", {{"setpoint", 2}}}}}));
    push("tok-boiler", "write", json::array({{{"id", 3}, {"payload", {{"setpoint", 3}}}}}));
    ASSERT_EQ(runner.jobs.size(), 3u);
    modbus::MeterJobResult refused;
    refused.writes.resize(1);
    refused.writes[0].status =
        make_error(ErrorKind::kModbusException, "exception 2 (illegal data address)", 2);
    complete(0, std::move(refused));
    modbus::MeterJobResult silent;
    silent.writes.resize(1);
    silent.writes[0].status = make_error(ErrorKind::kTimeout, "no answer within 500 ms");
    complete(1, std::move(silent));
    complete(2, modbus::failed_job(runner.jobs[2], make_error(ErrorKind::kNotConnected,
                                                              "bus b cannot be opened: refused")));
    const auto answers = results();
    ASSERT_EQ(answers.size(), 3u);
    EXPECT_EQ(answers[0].second[0]["statusCode"], 502);
    EXPECT_EQ(answers[0].second[0]["reasonPhrase"],
              "meter boiler: 'setpoint' not written: exception 2 (illegal data address)");
    EXPECT_EQ(answers[1].second[0]["statusCode"], 504);
    EXPECT_EQ(answers[2].second[0]["statusCode"], 504);
    EXPECT_NE(answers[2].second[0]["reasonPhrase"].get<std::string>().find("cannot be opened"),
              std::string::npos);
}

TEST_F(CommandCenterTest, ABusWithAFullQueueIsAnswered503) {
    runner.full = true;
    push("tok-boiler", "write", json::array({{{"id", 1}, {"payload", {{"setpoint", 1}}}}}));
    const auto answers = results();
    ASSERT_EQ(answers.size(), 1u);
    EXPECT_EQ(answers[0].second[0]["statusCode"], 503);
    runner.full = false;  // not remembered as run: sent again, it runs
    push("tok-boiler", "write", json::array({{{"id", 1}, {"payload", {{"setpoint", 1}}}}}));
    EXPECT_EQ(runner.jobs.size(), 1u);
}

TEST_F(CommandCenterTest, ReadCommandsReadAllOrNamedRegisters) {
    push("tok-boiler", "read", json::array({{{"id", 1}}}));
    push("tok-boiler", "read", json::array({{{"id", 2}, {"payload", {"setpoint"}}}}));
    push("tok-boiler", "read", json::array({{{"id", 3}, {"payload", {"power", "bogus"}}}}));
    ASSERT_EQ(runner.jobs.size(), 2u);
    std::vector<std::string> names;
    for (const auto& r : runner.jobs[0].reads)
        names.push_back(r.name);
    EXPECT_EQ(names, (std::vector<std::string>{"power", "setpoint", "relay"}));
    ASSERT_EQ(runner.jobs[1].reads.size(), 1u);
    modbus::MeterJobResult r;
    r.readings = {Reading{"power", Value{uint64_t{1200}}, Quality::kGood},
                  Reading{"setpoint", Value{42.5}, Quality::kGood},
                  Reading{"relay", Value{false}, Quality::kReadFailed}};
    r.problems = {"relay: exception 2"};
    complete(0, std::move(r));
    const auto answers = results();
    ASSERT_EQ(answers.size(), 2u);  // the 400 first, then the read
    EXPECT_EQ(answers[0].second[0]["statusCode"], 400);
    EXPECT_NE(answers[0].second[0]["reasonPhrase"].get<std::string>().find("bogus"),
              std::string::npos);
    EXPECT_EQ(answers[1].second, json::parse(R"([{"id":1,"statusCode":200,
                               "reasonPhrase":"read 2 of 3 registers; relay: exception 2",
                               "payload":{"power":1200,"setpoint":42.5}}])"));
}

TEST_F(CommandCenterTest, ConnectingSubscribesAsksForPendingCommandsAndResendsResults) {
    center.handle_disconnected();
    mqtt.up = false;
    push("tok-boiler", "reboot", json::array({{{"id", 4}}}));  // answered while away
    EXPECT_TRUE(results().empty());
    mqtt.up = true;
    mqtt.subscriptions.clear();
    center.handle_connected();
    EXPECT_EQ(mqtt.subscriptions.size(), 10u);
    EXPECT_NE(std::find(mqtt.subscriptions.begin(), mqtt.subscriptions.end(),
                        "kp1/av1/cex/+/command/+/status"),
              mqtt.subscriptions.end());
    std::vector<std::string> observed;
    for (const auto& p : mqtt.published) {
        if (p.topic.find("/command/") != std::string::npos) {
            EXPECT_EQ(p.payload, R"({"observe":true})");
            observed.push_back(p.topic.substr(0, p.topic.rfind('/')));
        }
    }
    std::sort(observed.begin(), observed.end());
    EXPECT_EQ(observed, (std::vector<std::string>{"kp1/av1/cex/tok-boiler/command/read",
                                                  "kp1/av1/cex/tok-boiler/command/write",
                                                  "kp1/av1/cex/tok-plain/command/read"}));
    ASSERT_EQ(results().size(), 1u);
    // Kaa confirms it: not sent again after the next connect.
    const std::string topic = results()[0].first;
    EXPECT_TRUE(center.handle_message(topic + "/status", ""));
    EXPECT_EQ(center.counters().results_confirmed, 1u);
    mqtt.published.clear();
    center.handle_connected();
    EXPECT_TRUE(results().empty());
}

TEST_F(CommandCenterTest, UnreadablePushesAreLoggedAndOtherTopicsAreNotOurs) {
    fakes::LogCapture log;
    EXPECT_TRUE(center.handle_message("kp1/av1/cex/tok-boiler/command/write/status", "{nope"));
    push("tok-boiler", "write", json::array({{{"payload", 1}}, 17}));
    EXPECT_EQ(center.counters().unreadable, 3u);
    EXPECT_TRUE(results().empty());
    EXPECT_GE(log.count("cannot be answered"), 1u) << log.text();
    EXPECT_FALSE(center.handle_message("kp1/av1/dcx/tok-boiler/json/4/status", ""));
    EXPECT_FALSE(center.handle_message("kp1/other/cex/tok-boiler/command/write/status", "[]"));
}

}  // namespace
}  // namespace kaa::commands
