// Fuzz target: every message Kaa can send the gateway, through the uplink's on-message path
// (uplink.cpp, uplink_replies.cpp, error_policy.cpp, topics.cpp). Each input is a session: an
// uplink with two meters, samples and metadata in flight on a fake MQTT client and a fake
// clock, then a sequence of events chosen by the input: /status and /error replies (to real
// requests or not, with any topic suffix and payload: JSON or not, huge, deeply nested),
// command and configuration pushes (cex, cmx: the gateway ignores them, but they take the same
// path), other topics, PUBACKs, time passing, lost and new connections, new samples and
// metadata. Checked at the end: every sample is delivered, refused for good or still waiting
// (none lost, none counted twice), and samples are refused only after a refusal code
// (error_policy.hpp) was sent.
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

/// Hands a message to the uplink the way Gateway::on_message and its main loop do.
void deliver(Uplink& uplink, const std::string& topic, const std::string& payload) {
    const std::string kept = topic.substr(0, kMaxMessageBytes);
    if (payload.size() > kMaxMessageBytes)
        uplink.handle_oversized_message(kept, payload.size());
    else
        uplink.handle_message(kept, payload);
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
        add_samples();
        uplink_->set_metadata(kaa::MetadataUpdate{0, {{"model", "A300"}, {"serial", "42"}}});
        uplink_->handle_connected();
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
    }

  private:
    /// One event from the input.
    void event() {
        // Each value is taken from the input in its own statement: the order of a call's
        // arguments is unspecified, and the seeds (make_seeds.py) depend on the order.
        switch (in_.ConsumeIntegralInRange<int>(0, 10)) {
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
            default:
                if (in_.ConsumeBool())
                    add_samples();
                else
                    set_metadata();
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
        mqtt_.up = in_.ConsumeBool();
        if (mqtt_.up)
            uplink_->handle_connected();
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
