// Fuzz target: every message Kaa can send the gateway, through the on-message path the
// gateway's main loop takes: the remote configuration (daemon/commands/remote_config.cpp),
// then the commands (command_center.cpp, command_messages.cpp, command_answers.cpp,
// command_topics.cpp), then the uplink (uplink.cpp, uplink_replies.cpp, error_policy.cpp,
// topics.cpp). Each input is a session: two meters with writable registers, samples and
// metadata in flight on a fake MQTT client and a fake clock, then a sequence of events
// chosen by the input: /status and /error replies (to real requests or not, with any topic
// suffix and payload: JSON or not, huge, deeply nested), command pushes (random text, or
// command arrays naming real and unknown registers with any values) and configuration
// pushes, the meters' jobs finishing with any outcome, other topics, PUBACKs, time
// passing, lost and new connections, new samples and metadata. Checked at the end: every
// sample is delivered, refused for good or still waiting (none lost, none counted twice),
// samples are refused only after a refusal code (error_policy.hpp) was sent, and every
// command result published is one item with an id and a status code the gateway uses.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "core/utf8.hpp"
#include "daemon/buffer/memory_sample_store.hpp"
#include "daemon/commands/command_center.hpp"
#include "daemon/commands/remote_config.hpp"
#include "daemon/kaa/uplink.hpp"
#include "tests/fakes/fake_clock.hpp"
#include "tests/fakes/fake_mqtt.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using kaa::uplink::Uplink;

/// What the gateway keeps of a message (daemon/gateway.cpp): a payload over this arrives as
/// its length only.
constexpr size_t kMaxMessageBytes = 64 * 1024;
constexpr size_t kMaxEvents = 64;
constexpr size_t kMaxPayload = 256;  // bytes of payload text taken from the input at once
const std::string kTokens[] = {"tok-heat", "tok-water"};

/// Stops the run with a reason when an invariant does not hold.
void check(bool ok, const char* what) {
    kaa::fuzz::check(ok, "fuzz_kaa_messages", what);
}

/// Records the jobs the command center queues; refuses them when told to.
class QueuedJobs final : public kaa::commands::JobRunner {
  public:
    kaa::Status submit(kaa::modbus::MeterJob job) override {
        if (full)
            return kaa::make_error(kaa::ErrorKind::kUnavailable, "bus b has 64 commands waiting");
        jobs.push_back(std::move(job));
        return {};
    }
    bool full = false;
    std::vector<kaa::modbus::MeterJob> jobs;
};

kaa::config::WritableConfig writable(const char* name, kaa::config::RegisterFunction function,
                                     kaa::config::ValueType type, uint16_t address) {
    kaa::config::WritableConfig w;
    w.reg.name = name;
    w.reg.function = function;
    w.reg.type = type;
    w.reg.address = address;
    return w;
}

/// Two meters on one bus, each with a polled register and three writable ones.
std::shared_ptr<const kaa::config::GatewayConfig> plant() {
    using kaa::config::RegisterFunction;
    using kaa::config::ValueType;
    kaa::config::GatewayConfig c;
    c.gateway.token = "tok-gw";
    for (size_t m = 0; m < 2; ++m) {
        kaa::config::MeterConfig meter;
        meter.name = m == 0 ? "heat" : "water";
        meter.token = kTokens[m];
        meter.bus = "b";
        kaa::config::RegisterConfig energy;
        energy.name = "energy";
        energy.function = RegisterFunction::kInput;
        energy.type = ValueType::kUint32;
        meter.registers = {energy};
        meter.writable = {
            writable("setpoint", RegisterFunction::kHolding, ValueType::kUint16, 10),
            writable("temperature", RegisterFunction::kHolding, ValueType::kFloat32, 20),
            writable("relay", RegisterFunction::kCoil, ValueType::kBool, 5)};
        meter.writable[0].min = 0;
        meter.writable[0].max = 1000;
        meter.writable[1].reg.byte_order = kaa::config::ByteOrder::kCDAB;
        meter.writable[1].reg.scale = 0.1;
        c.meters.push_back(std::move(meter));
    }
    return std::make_shared<const kaa::config::GatewayConfig>(std::move(c));
}

/// True when `payload` is an /error the policy drops on: {"statusCode": 400|413|415|422}.
bool is_refusal(const std::string& payload) {
    if (payload.size() > Uplink::kMaxErrorPayloadBytes)
        return false;
    const auto j = nlohmann::json::parse(payload, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        return false;
    const auto it = j.find("statusCode");
    if (it == j.end() || !it->is_number_integer())
        return false;
    const auto same = [&](int64_t code) {
        return it->is_number_unsigned() ? it->get<uint64_t>() == static_cast<uint64_t>(code)
                                        : it->get<int64_t>() == code;
    };
    return same(400) || same(413) || same(415) || same(422);
}

/// One fuzzed session of the uplink and what it is checked against.
class Session {
  public:
    explicit Session(FuzzedDataProvider& in) : in_(in) {
        kaa::uplink::UplinkSettings s;
        s.app_version = "av";
        s.qos = 1;
        s.delivery =
            in_.PickValueInArray({kaa::config::Delivery::kStatus, kaa::config::Delivery::kPuback,
                                  kaa::config::Delivery::kNone});
        s.response_timeout = std::chrono::seconds(30);
        s.batch = in_.ConsumeIntegralInRange<size_t>(1, 8);
        s.batch_bytes = 4096;
        s.max_in_flight = in_.ConsumeIntegralInRange<size_t>(1, 4);
        s.retry_seed = 1;  // the same jitter every run
        uplink_ = std::make_unique<Uplink>(
            s, std::vector<kaa::uplink::Endpoint>{{"heat", kTokens[0]}, {"water", kTokens[1]}},
            mqtt_, store_, clock_);
        commands_ = std::make_unique<kaa::commands::CommandCenter>(
            kaa::commands::CommandSettings{"av", 1, true, std::chrono::seconds(30)}, mqtt_, jobs_,
            clock_, [this](uint64_t job, kaa::modbus::MeterJobResult r) {
                done_.emplace_back(job, std::move(r));
            });
        commands_->set_meters(plant(), {true, true});
        remote_ = std::make_unique<kaa::commands::RemoteConfigClient>(
            "av", "tok-gw", 1, mqtt_, clock_, [this](const std::string&, const nlohmann::json&) {
                const int code = in_.PickValueInArray({200, 400, 500});
                return kaa::commands::ApplyOutcome{code, in_.ConsumeRandomLengthString(64)};
            });
        add_samples();
        uplink_->set_metadata(kaa::MetadataUpdate{0, {{"model", "A300"}, {"serial", "42"}}});
        connected();
    }

    /// Runs the events the input chooses, then checks the accounting.
    void run() {
        for (size_t n = 0; n < kMaxEvents && in_.remaining_bytes() > 0; ++n) {
            event();
            uplink_->pump();
            if (in_.ConsumeBool())
                uplink_->flush_removals();
        }
        uplink_->flush_removals();
        const auto& c = uplink_->counters();
        check(c.samples_bad_time == 0, "a sample with a good read time dropped as bad");
        check(c.samples_delivered + c.samples_rejected + store_.stats().samples == appended_,
              "samples lost or counted twice");
        check(c.samples_rejected == 0 || refusal_sent_, "samples dropped without a refusal code");
        check(store_.stats().dropped_overflow == 0, "the store overflowed");
        check_results();
    }

  private:
    /// One event from the input.
    void event() {
        // Each value is taken from the input in its own statement: the order of a call's
        // arguments is unspecified, and the seeds (make_seeds.py) depend on the order.
        switch (in_.ConsumeIntegralInRange<int>(0, 12)) {
            case 0: {
                const std::string topic = request_topic();
                reply(topic, "/status", in_.ConsumeRandomLengthString(kMaxPayload));
                break;
            }
            case 1: {
                const std::string topic = request_topic();
                reply(topic, "/error", in_.ConsumeRandomLengthString(kMaxPayload));
                break;
            }
            case 2: {
                const std::string topic = request_topic();
                reply(topic, "/error", error_payload());
                break;
            }
            case 3: {
                const std::string topic = request_topic();
                const std::string suffix = in_.ConsumeRandomLengthString(64);
                reply(topic, suffix, big_payload());
                break;
            }
            case 4:
                push("cex", "/command/" + in_.ConsumeRandomLengthString(32));
                break;
            case 5:
                push("cmx", "/config/json");
                break;
            case 6: {
                const std::string topic = in_.ConsumeRandomLengthString(kMaxPayload);
                deliver(*uplink_, topic, in_.ConsumeRandomLengthString(kMaxPayload));
                break;
            }
            case 7:
                clock_.advance(std::chrono::milliseconds(in_.ConsumeIntegralInRange(0, 120'000)));
                uplink_->check_timeouts();
                break;
            case 8:
                uplink_->handle_published(published_mid());
                break;
            case 9:
                reconnect();
                break;
            case 10:
                push_commands();
                break;
            case 11:
                finish_job();
                break;
            default:
                if (in_.ConsumeBool())
                    add_samples();
                else
                    set_metadata();
        }
    }

    /// Hands a message over the way Gateway::on_message and its main loop do.
    void deliver(Uplink& uplink, const std::string& topic, const std::string& payload) {
        const std::string kept = topic.substr(0, kMaxMessageBytes);
        if (payload.size() > kMaxMessageBytes)
            uplink.handle_oversized_message(kept, payload.size());
        else if (!remote_->handle_message(kept, payload) &&
                 !commands_->handle_message(kept, payload))
            uplink.handle_message(kept, payload);
    }

    void connected() {
        uplink_->handle_connected();
        commands_->handle_connected();
        remote_->handle_connected();
    }

    /// A command array for a meter: ids that may repeat, names real or not, values of any kind.
    void push_commands() {
        nlohmann::json commands = nlohmann::json::array();
        const int count = in_.ConsumeIntegralInRange<int>(0, 3);
        for (int i = 0; i < count; ++i) {
            nlohmann::json payload = nlohmann::json::object();
            const int names = in_.ConsumeIntegralInRange<int>(0, 3);
            for (int k = 0; k < names; ++k) {
                const std::string name = in_.PickValueInArray(
                    {std::string("setpoint"), std::string("temperature"), std::string("relay"),
                     std::string("energy"), kaa::to_utf8(in_.ConsumeRandomLengthString(8))});
                switch (in_.ConsumeIntegralInRange<int>(0, 3)) {
                    case 0:
                        payload[name] = in_.ConsumeIntegral<int64_t>();
                        break;
                    case 1:
                        payload[name] = in_.ConsumeFloatingPoint<double>();
                        break;
                    case 2:
                        payload[name] = in_.ConsumeBool();
                        break;
                    default:
                        payload[name] = kaa::to_utf8(in_.ConsumeRandomLengthString(8));
                }
            }
            nlohmann::json item{{"id", in_.ConsumeIntegralInRange<int64_t>(-2, 5)}};
            if (in_.ConsumeBool())
                item["payload"] = payload;
            else if (in_.ConsumeBool())
                item["payload"] = nlohmann::json::array({"energy", "setpoint", "nope"});
            commands.push_back(std::move(item));
        }
        const std::string type = in_.PickValueInArray({"write", "read", "reboot"});
        jobs_.full = in_.ConsumeBool() && in_.ConsumeBool();
        deliver(*uplink_, "kp1/av/cex/" + token() + "/command/" + type + "/status",
                commands.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    }

    /// A queued job ends: written and read back (any words), refused, timed out, not run.
    void finish_job() {
        if (jobs_.jobs.empty())
            return;
        const size_t at = in_.ConsumeIntegralInRange<size_t>(0, jobs_.jobs.size() - 1);
        kaa::modbus::MeterJob job = std::move(jobs_.jobs[at]);
        jobs_.jobs.erase(jobs_.jobs.begin() + static_cast<std::ptrdiff_t>(at));
        kaa::modbus::MeterJobResult r;
        const int outcome = in_.ConsumeIntegralInRange<int>(0, 3);
        if (outcome == 3) {
            r = kaa::modbus::failed_job(
                job, kaa::make_error(kaa::ErrorKind::kNotConnected, "bus b cannot be opened"));
        } else {
            for (const auto& w : job.writes) {
                kaa::modbus::WriteResult wr;
                if (outcome == 1)
                    wr.status = kaa::make_error(kaa::ErrorKind::kModbusException, "exception 2", 2);
                else if (outcome == 2)
                    wr.status = kaa::make_error(kaa::ErrorKind::kTimeout, "no answer");
                std::vector<uint16_t> words(w.words.size());
                for (auto& word : words)
                    word = in_.ConsumeIntegral<uint16_t>();
                wr.before = words;
                wr.read_back = words;
                r.writes.push_back(std::move(wr));
            }
            for (const auto& reg : job.reads) {
                kaa::Reading reading{
                    reg.name, kaa::Value{in_.ConsumeIntegral<uint64_t>()},
                    in_.ConsumeBool() ? kaa::Quality::kGood : kaa::Quality::kReadFailed};
                r.readings.push_back(std::move(reading));
            }
            if (outcome == 2 && !job.reads.empty())
                r.status = kaa::make_error(kaa::ErrorKind::kTimeout, "no answer");
        }
        job.done(std::move(r));
        for (auto& [id, result] : done_)
            commands_->finish(id, std::move(result));
        done_.clear();
    }

    /// Every command result is one item: an integer id and a status code the gateway uses.
    void check_results() {
        for (const auto& p : mqtt_.published) {
            if (p.topic.find("/cex/") == std::string::npos ||
                p.topic.find("/result/") == std::string::npos)
                continue;
            const auto j = nlohmann::json::parse(p.payload, nullptr, false);
            check(j.is_array() && j.size() == 1 && j[0].contains("id") &&
                      j[0]["id"].is_number_integer() && j[0].contains("statusCode"),
                  "a command result that is not one item with an id and a status code");
            const int code = j[0]["statusCode"].get<int>();
            check(code == 200 || code == 400 || code == 404 || code == 502 || code == 503 ||
                      code == 504,
                  "a command result with a status code the gateway does not use");
        }
    }

    /// Delivers topic + suffix; remembers a refusal the policy may act on.
    void reply(const std::string& topic, const std::string& suffix, const std::string& payload) {
        if (suffix == "/error" && is_refusal(payload))
            refusal_sent_ = true;
        deliver(*uplink_, topic + suffix, payload);
    }

    /// The topic of a request the gateway published, or one it never did.
    std::string request_topic() {
        if (!mqtt_.published.empty() && in_.ConsumeBool()) {
            const size_t at = in_.ConsumeIntegralInRange<size_t>(0, mqtt_.published.size() - 1);
            return mqtt_.published[at].topic;
        }
        const std::string ext = in_.ConsumeBool() ? "/dcx/" : "/epmx/";
        const std::string resource = ext == "/dcx/" ? "/json/" : "/update/keys/";
        const std::string to = token();
        return "kp1/av" + ext + to + resource + in_.ConsumeRandomLengthString(12);
    }

    /// A meter's token, or another one.
    std::string token() {
        if (in_.ConsumeBool())
            return kTokens[in_.ConsumeIntegralInRange<size_t>(0, 1)];
        return in_.ConsumeRandomLengthString(16);
    }

    /// A command (cex) or configuration (cmx) push for a token, on /status or /error.
    void push(const std::string& extension, const std::string& resource) {
        const std::string outcome = in_.ConsumeBool() ? "/status" : "/error";
        const std::string topic = "kp1/av/" + extension + "/" + token() + resource + outcome;
        deliver(*uplink_, topic, in_.ConsumeRandomLengthString(kMaxPayload));
    }

    /// {"statusCode": <code>, "reasonPhrase": <text>}, with a code of the table or any.
    std::string error_payload() {
        nlohmann::json j = nlohmann::json::object();
        if (in_.ConsumeBool()) {
            j["statusCode"] = in_.PickValueInArray(
                {400, 401, 403, 404, 408, 413, 415, 422, 429, 500, 503, 0, -1});
        } else {
            j["statusCode"] = in_.ConsumeIntegral<int64_t>();
        }
        j["reasonPhrase"] = in_.ConsumeRandomLengthString(kMaxPayload);
        return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }

    /// A payload near or over the size the gateway keeps, or nested very deep.
    std::string big_payload() {
        const std::string chunk = in_.ConsumeRandomLengthString(16);
        const size_t size = kMaxMessageBytes - 16 + in_.ConsumeIntegralInRange<size_t>(0, 32);
        std::string out;
        if (in_.ConsumeBool()) {  // [[[[...]]]] around a refusal
            const size_t depth = (size - 32) / 2;
            out.assign(depth, '[');
            out += "{\"statusCode\":400}";
            out.append(depth, ']');
        } else {  // the chunk repeated, doubling (a loop of 1-byte appends cost half the run)
            out = chunk.empty() ? std::string("x") : chunk;
            while (out.size() * 2 <= size)
                out += out;
            out.append(out, 0, size - out.size());
        }
        return out;
    }

    /// The message id of a publish, or one never used.
    int published_mid() {
        if (!mqtt_.published.empty() && in_.ConsumeBool())
            return mqtt_
                .published[in_.ConsumeIntegralInRange<size_t>(0, mqtt_.published.size() - 1)]
                .mid;
        return in_.ConsumeIntegral<int>();
    }

    /// The connection drops, and maybe comes back.
    void reconnect() {
        uplink_->handle_disconnected("fuzz");
        commands_->handle_disconnected();
        mqtt_.up = in_.ConsumeBool();
        if (mqtt_.up)
            connected();
    }

    /// New metadata keys for a meter (or for one that does not exist), in UTF-8 as the
    /// poller and the configuration give them.
    void set_metadata() {
        const size_t meter = in_.ConsumeIntegralInRange<size_t>(0, 2);
        const std::string key = kaa::to_utf8(in_.ConsumeRandomLengthString(16));
        const std::string value = kaa::to_utf8(in_.ConsumeRandomLengthString(64));
        uplink_->set_metadata(kaa::MetadataUpdate{meter, {{key, value}}});
    }

    /// A poll round: a few samples for each meter, with read times in range.
    void add_samples() {
        std::vector<kaa::BufferedSample> round;
        const int count = in_.ConsumeIntegralInRange<int>(0, 6);
        for (size_t meter = 0; meter < 2; ++meter) {
            for (int i = 0; i < count; ++i) {
                round.push_back(kaa::BufferedSample{meter, read_ms_, "{\"v\":1}"});
                read_ms_ += 1000;
            }
        }
        check(store_.append(round).ok(), "the store refused samples");
        appended_ += round.size();
    }

    FuzzedDataProvider& in_;
    kaa::fakes::FakeClock clock_;
    kaa::fakes::FakeMqtt mqtt_;
    kaa::MemorySampleStore store_{2, 64u << 20, kaa::config::Overflow::kDropOldest};
    std::unique_ptr<Uplink> uplink_;
    QueuedJobs jobs_;
    std::vector<std::pair<uint64_t, kaa::modbus::MeterJobResult>> done_;
    std::unique_ptr<kaa::commands::CommandCenter> commands_;
    std::unique_ptr<kaa::commands::RemoteConfigClient> remote_;
    int64_t read_ms_ = 1'700'000'000'000;
    uint64_t appended_ = 0;
    bool refusal_sent_ = false;
};

}  // namespace

/// Logs go nowhere, but every message is still formatted (at trace level).
extern "C" int LLVMFuzzerInitialize(int*, char***) {
    auto logger =
        std::make_shared<spdlog::logger>("fuzz", std::make_shared<spdlog::sinks::null_sink_mt>());
    logger->set_level(spdlog::level::trace);
    spdlog::set_default_logger(logger);
    return 0;
}

/// libFuzzer's entry point: one input is one session of events.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    Session session(in);
    session.run();
    return 0;
}
