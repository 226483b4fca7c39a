// polling_floor: the least a program can do to poll the benchmark's meters and publish
// their readings with the libraries kaa-gatewayd uses (libmodbus, libmosquitto,
// nlohmann json). tests/bench/bench_polling.py compares the daemon's CPU time per
// reading and peak RSS against this program's.
//
// Every second, for each meter (unit ids 1..N on one Modbus TCP server) it makes exactly
// the requests the daemon's planner makes for the benchmark's register map
// (`kaa-gatewayd --check` prints them; bench_polling.py verifies they still match):
//
//     read holding 0..7   (8 registers):  temperature .. power_factor_pct
//     read input   0..23  (24 registers): voltage_l1 .. operating_seconds
//
// decodes them exactly as the daemon does (float32 via the shortest decimal that
// round-trips, scale applied with 15 significant digits), builds the same sample
// {"timestamp":<ms>,"<name>":value,...} (same key order, same number formatting) and
// publishes it as a one-sample JSON array to kp1/<app>/dcx/<token>/json/<rid> at QoS 1
// over one libmosquitto connection run by mosquitto_loop_start().
//
// The register map here and the one bench_polling.py writes into the configs must stay
// identical (bench_polling.py compares a published sample of each side).
//
// Usage: polling_floor --modbus-port P --mqtt-port P [--meters 100] [--seconds 60]
//                      [--app bench_flr] [--host 127.0.0.1] [--subscribe-status]
// --seconds 0 runs until SIGTERM/SIGINT. --subscribe-status also subscribes to the
// /status replies (as the daemon does with kaa.delivery: status) and counts them.

#include <modbus.h>
#include <mosquitto.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <bit>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace {

enum class Type { kFloat32, kUint32, kInt16, kUint16 };
enum class Table { kHolding, kInput };

struct Reg {
    const char* name;
    Table table;
    int address;
    Type type;
    bool cdab;     // byte order CDAB (else ABCD)
    double scale;  // 1.0: none
};

// Config order = JSON key order. Keep in sync with REGISTERS in bench_polling.py.
constexpr std::array<Reg, 20> kRegisters{{
    {"voltage_l1", Table::kInput, 0, Type::kFloat32, false, 1.0},
    {"voltage_l2", Table::kInput, 2, Type::kFloat32, false, 1.0},
    {"voltage_l3", Table::kInput, 4, Type::kFloat32, false, 1.0},
    {"current_l1", Table::kInput, 6, Type::kFloat32, false, 1.0},
    {"current_l2", Table::kInput, 8, Type::kFloat32, false, 1.0},
    {"current_l3", Table::kInput, 10, Type::kFloat32, false, 1.0},
    {"power_total", Table::kInput, 12, Type::kFloat32, true, 1.0},
    {"frequency", Table::kInput, 14, Type::kFloat32, false, 1.0},
    {"energy_import_wh", Table::kInput, 16, Type::kUint32, false, 1.0},
    {"energy_export_wh", Table::kInput, 18, Type::kUint32, true, 1.0},
    {"energy_import_kwh", Table::kInput, 20, Type::kUint32, false, 0.001},
    {"operating_seconds", Table::kInput, 22, Type::kUint32, false, 1.0},
    {"temperature", Table::kHolding, 0, Type::kInt16, false, 0.1},
    {"phase_angle_l1", Table::kHolding, 1, Type::kInt16, false, 1.0},
    {"phase_angle_l2", Table::kHolding, 2, Type::kInt16, false, 1.0},
    {"phase_angle_l3", Table::kHolding, 3, Type::kInt16, false, 1.0},
    {"status_word", Table::kHolding, 4, Type::kUint16, false, 1.0},
    {"alarm_flags", Table::kHolding, 5, Type::kUint16, false, 1.0},
    {"ct_ratio", Table::kHolding, 6, Type::kUint16, false, 1.0},
    {"power_factor_pct", Table::kHolding, 7, Type::kUint16, false, 0.01},
}};
constexpr int kHoldingCount = 8;  // the daemon's plan: holding 0..7, then input 0..23
constexpr int kInputCount = 24;

std::atomic<bool> g_stop{false};

void on_signal(int) {
    g_stop = true;
}

struct Args {
    std::string host = "127.0.0.1";
    int modbus_port = 0;
    int mqtt_port = 0;
    int meters = 100;
    int seconds = 60;
    std::string app = "bench_flr";
    bool subscribe_status = false;
};

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr,
                 "polling_floor: %s\nusage: polling_floor --modbus-port P --mqtt-port P "
                 "[--meters N] [--seconds S] [--app NAME] [--host H] [--subscribe-status]\n",
                 why);
    std::exit(2);
}

Args parse_args(int argc, char** argv) {
    Args a;
    for (int i = 1; i < argc; ++i) {
        const std::string_view k = argv[i];
        auto value = [&]() -> const char* {
            if (i + 1 >= argc)
                usage("missing value");
            return argv[++i];
        };
        if (k == "--modbus-port")
            a.modbus_port = std::atoi(value());
        else if (k == "--mqtt-port")
            a.mqtt_port = std::atoi(value());
        else if (k == "--meters")
            a.meters = std::atoi(value());
        else if (k == "--seconds")
            a.seconds = std::atoi(value());
        else if (k == "--app")
            a.app = value();
        else if (k == "--host")
            a.host = value();
        else if (k == "--subscribe-status")
            a.subscribe_status = true;
        else
            usage("unknown argument");
    }
    if (a.modbus_port <= 0 || a.mqtt_port <= 0)
        usage("--modbus-port and --mqtt-port are required");
    if (a.meters < 1 || a.meters > 247)
        usage("--meters must be 1..247");
    return a;
}

// ---- decoding: the same steps as drivers/modbus/register_codec.cpp -----------------------

double float_to_shortest_double(float f) {
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, f);
    if (ec != std::errc())
        return static_cast<double>(f);
    double d = 0.0;
    if (std::from_chars(buf, end, d).ec != std::errc())
        return static_cast<double>(f);
    return d;
}

double round15(double d) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.15g", d);
    return std::strtod(buf, nullptr);
}

uint32_t two_words(const uint16_t* w, bool cdab) {
    return cdab ? (uint32_t{w[1]} << 16) | w[0] : (uint32_t{w[0]} << 16) | w[1];
}

void put(nlohmann::ordered_json& sample, const Reg& r, const uint16_t* w) {
    switch (r.type) {
        case Type::kFloat32: {
            const double d = float_to_shortest_double(std::bit_cast<float>(two_words(w, r.cdab)));
            if (r.scale != 1.0)
                sample[r.name] = round15(d * r.scale);
            else
                sample[r.name] = d;
            return;
        }
        case Type::kUint32: {
            const uint64_t u = two_words(w, r.cdab);
            if (r.scale != 1.0)
                sample[r.name] = round15(static_cast<double>(u) * r.scale);
            else
                sample[r.name] = u;
            return;
        }
        case Type::kInt16: {
            const int64_t i = static_cast<int16_t>(w[0]);
            if (r.scale != 1.0)
                sample[r.name] = round15(static_cast<double>(i) * r.scale);
            else
                sample[r.name] = i;
            return;
        }
        case Type::kUint16: {
            const uint64_t u = w[0];
            if (r.scale != 1.0)
                sample[r.name] = round15(static_cast<double>(u) * r.scale);
            else
                sample[r.name] = u;
            return;
        }
    }
}

// ---- MQTT ---------------------------------------------------------------------------------

struct Mqtt {
    std::mutex mutex;
    std::condition_variable cv;
    bool connected = false;
    std::atomic<uint64_t> acked{0};
    std::atomic<uint64_t> statuses{0};
    std::string status_filter;
};

void on_connect(mosquitto* mosq, void* obj, int rc) {
    auto* m = static_cast<Mqtt*>(obj);
    if (rc == 0 && !m->status_filter.empty()) {
        mosquitto_subscribe(mosq, nullptr, m->status_filter.c_str(), 1);
    }
    std::lock_guard<std::mutex> lock(m->mutex);
    m->connected = rc == 0;
    m->cv.notify_all();
}

void on_publish(mosquitto*, void* obj, int) {
    ++static_cast<Mqtt*>(obj)->acked;
}

void on_message(mosquitto*, void* obj, const mosquitto_message*) {
    ++static_cast<Mqtt*>(obj)->statuses;
}

int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

int main(int argc, char** argv) {
    const Args args = parse_args(argc, argv);
    std::signal(SIGTERM, on_signal);
    std::signal(SIGINT, on_signal);
    std::signal(SIGPIPE, SIG_IGN);

    // Tokens and topics exactly as bench_polling.py configures the daemon's meters.
    std::vector<std::string> tokens;
    for (int unit = 1; unit <= args.meters; ++unit) {
        char token[32];
        std::snprintf(token, sizeof token, "meter-%03d", unit);
        tokens.emplace_back(token);
    }
    const std::string topic_base = "kp1/" + args.app + "/dcx/";

    mosquitto_lib_init();
    Mqtt m;
    if (args.subscribe_status)
        m.status_filter = topic_base + "+/json/+/status";
    mosquitto* mosq =
        mosquitto_new(("polling-floor-" + std::to_string(getpid())).c_str(), true, &m);
    if (mosq == nullptr) {
        std::fprintf(stderr, "polling_floor: mosquitto_new failed\n");
        return 1;
    }
    mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_connect_callback_set(mosq, on_connect);
    mosquitto_publish_callback_set(mosq, on_publish);
    mosquitto_message_callback_set(mosq, on_message);
    if (int rc = mosquitto_connect(mosq, args.host.c_str(), args.mqtt_port, 60);
        rc != MOSQ_ERR_SUCCESS) {
        std::fprintf(stderr, "polling_floor: cannot connect to MQTT %s:%d: %s\n", args.host.c_str(),
                     args.mqtt_port, mosquitto_strerror(rc));
        return 1;
    }
    if (int rc = mosquitto_loop_start(mosq); rc != MOSQ_ERR_SUCCESS) {
        std::fprintf(stderr, "polling_floor: mosquitto_loop_start: %s\n", mosquitto_strerror(rc));
        return 1;
    }
    {
        std::unique_lock<std::mutex> lock(m.mutex);
        if (!m.cv.wait_for(lock, std::chrono::seconds(10), [&] { return m.connected; })) {
            std::fprintf(stderr, "polling_floor: no CONNACK within 10 s\n");
            return 1;
        }
    }

    modbus_t* ctx = modbus_new_tcp_pi(args.host.c_str(), std::to_string(args.modbus_port).c_str());
    if (ctx == nullptr) {
        std::fprintf(stderr, "polling_floor: modbus_new_tcp_pi: %s\n", std::strerror(errno));
        return 1;
    }
    modbus_set_response_timeout(ctx, 0, 500000);
    if (modbus_connect(ctx) != 0) {
        std::fprintf(stderr, "polling_floor: cannot connect to Modbus port %d: %s\n",
                     args.modbus_port, modbus_strerror(errno));
        return 1;
    }
    std::fprintf(stderr, "polling_floor: polling %d meters every 1 s\n", args.meters);

    uint16_t holding[kHoldingCount];
    uint16_t input[kInputCount];
    uint32_t rid = 1;
    uint64_t published = 0;
    uint64_t failed_reads = 0;
    const auto start = std::chrono::steady_clock::now();
    const auto end = start + std::chrono::seconds(args.seconds);
    auto next = start;
    while (!g_stop && (args.seconds == 0 || next < end)) {
        for (int unit = 1; unit <= args.meters && !g_stop; ++unit) {
            const int64_t timestamp = wall_ms();
            modbus_set_slave(ctx, unit);
            if (modbus_read_registers(ctx, 0, kHoldingCount, holding) != kHoldingCount ||
                modbus_read_input_registers(ctx, 0, kInputCount, input) != kInputCount) {
                ++failed_reads;
                continue;
            }
            nlohmann::ordered_json sample = nlohmann::ordered_json::object();
            sample["timestamp"] = timestamp;
            for (const Reg& r : kRegisters) {
                put(sample, r,
                    r.table == Table::kHolding ? holding + r.address : input + r.address);
            }
            std::string payload;
            payload.push_back('[');
            payload += sample.dump();
            payload.push_back(']');
            const std::string topic =
                topic_base + tokens[unit - 1] + "/json/" + std::to_string(rid);
            rid = rid >= 0x7fffffffu ? 1 : rid + 1;
            const int rc =
                mosquitto_publish(mosq, nullptr, topic.c_str(), static_cast<int>(payload.size()),
                                  payload.data(), 1, false);
            if (rc == MOSQ_ERR_SUCCESS)
                ++published;
        }
        next += std::chrono::seconds(1);
        while (!g_stop && std::chrono::steady_clock::now() < next) {
            std::this_thread::sleep_until(
                std::min(next, std::chrono::steady_clock::now() + std::chrono::milliseconds(100)));
        }
    }

    modbus_close(ctx);
    modbus_free(ctx);
    mosquitto_disconnect(mosq);
    mosquitto_loop_stop(mosq, false);
    mosquitto_destroy(mosq);
    mosquitto_lib_cleanup();
    std::fprintf(stderr,
                 "polling_floor: %llu samples published, %llu acknowledged, %llu status replies, "
                 "%llu failed polls\n",
                 static_cast<unsigned long long>(published),
                 static_cast<unsigned long long>(m.acked.load()),
                 static_cast<unsigned long long>(m.statuses.load()),
                 static_cast<unsigned long long>(failed_reads));
    return 0;
}
