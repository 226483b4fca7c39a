// peer_floor: the floor of the peer workload in tests/bench/bench_peer_workload.py, the least
// a program can do with the daemon's libraries (libmodbus, libmosquitto, nlohmann json) to
// poll M Modbus TCP meters (one connection each, K units behind it) for R holding registers
// every I ms and publish each reading. polling_floor.cpp is the same for the 100 meters x 20
// registers at 1 s workload; this one takes the layout on the command line.
//
// One thread polls every connection in turn, unit by unit: one request per unit (read holding
// 0..R-1, as the daemon's planner makes it for the benchmark's map of R uint16 registers
// reg_00..), builds the sample {"timestamp":<ms>,"reg_00":<word>,...} (the daemon's key
// order and number kinds) and publishes it as a one-sample JSON array to
// kp1/<app>/dcx/<token>/json/<rid> at QoS 1 over one libmosquitto connection run by
// mosquitto_loop_start(). Tokens are meter-001.. over connections, then units, as the
// benchmark names the daemon's meters. A round that ends late starts the next at once; no
// round is made up for.
//
// Usage: peer_floor --modbus-ports P1,P2,.. --mqtt-port P [--units K] [--registers R]
//                   [--interval-ms I] [--seconds S] [--app bench_flr] [--host 127.0.0.1]
//                   [--subscribe-status]
// --seconds 0 (the default) runs until SIGTERM/SIGINT. --subscribe-status also subscribes to
// the /status replies (as the daemon does with kaa.delivery: status) and counts them.

#include <modbus.h>
#include <mosquitto.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
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

std::atomic<bool> g_stop{false};

/// Asks the polling loop to end.
void on_signal(int) {
    g_stop = true;
}

struct Args {
    std::string host = "127.0.0.1";
    std::vector<int> modbus_ports;
    int mqtt_port = 0;
    int units = 1;
    int registers = 10;
    int interval_ms = 100;
    int seconds = 0;
    std::string app = "bench_flr";
    bool subscribe_status = false;
};

/// Prints why the arguments are wrong and the usage, and exits 2.
[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr,
                 "peer_floor: %s\nusage: peer_floor --modbus-ports P1,P2,.. --mqtt-port P "
                 "[--units K] [--registers R] [--interval-ms I] [--seconds S] [--app NAME] "
                 "[--host H] [--subscribe-status]\n",
                 why);
    std::exit(2);
}

/// Splits "p1,p2,.." into port numbers.
std::vector<int> parse_ports(const char* text) {
    std::vector<int> ports;
    const char* p = text;
    while (*p != '\0') {
        char* end = nullptr;
        const long v = std::strtol(p, &end, 10);
        if (end == p || v <= 0 || v > 65535)
            usage("--modbus-ports: a comma-separated list of ports");
        ports.push_back(static_cast<int>(v));
        p = *end == ',' ? end + 1 : end;
        if (*end != ',' && *end != '\0')
            usage("--modbus-ports: a comma-separated list of ports");
    }
    return ports;
}

/// Reads the command line.
Args parse_args(int argc, char** argv) {
    Args a;
    for (int i = 1; i < argc; ++i) {
        const std::string_view k = argv[i];
        auto value = [&]() -> const char* {
            if (i + 1 >= argc)
                usage("missing value");
            return argv[++i];
        };
        if (k == "--modbus-ports")
            a.modbus_ports = parse_ports(value());
        else if (k == "--mqtt-port")
            a.mqtt_port = std::atoi(value());
        else if (k == "--units")
            a.units = std::atoi(value());
        else if (k == "--registers")
            a.registers = std::atoi(value());
        else if (k == "--interval-ms")
            a.interval_ms = std::atoi(value());
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
    if (a.modbus_ports.empty() || a.mqtt_port <= 0)
        usage("--modbus-ports and --mqtt-port are required");
    if (a.units < 1 || a.units > 247)
        usage("--units must be 1..247");
    if (a.registers < 1 || a.registers > 100)
        usage("--registers must be 1..100 (names reg_00..reg_99)");
    if (a.interval_ms < 1)
        usage("--interval-ms must be at least 1");
    return a;
}

struct Mqtt {
    std::mutex mutex;
    std::condition_variable cv;
    bool connected = false;
    std::atomic<uint64_t> acked{0};
    std::atomic<uint64_t> statuses{0};
    std::string status_filter;
};

/// Notes the CONNACK and subscribes to the /status replies when asked to.
void on_connect(mosquitto* mosq, void* obj, int rc) {
    auto* m = static_cast<Mqtt*>(obj);
    if (rc == 0 && !m->status_filter.empty())
        mosquitto_subscribe(mosq, nullptr, m->status_filter.c_str(), 1);
    std::lock_guard<std::mutex> lock(m->mutex);
    m->connected = rc == 0;
    m->cv.notify_all();
}

/// Counts a PUBACK.
void on_publish(mosquitto*, void* obj, int) {
    ++static_cast<Mqtt*>(obj)->acked;
}

/// Counts a /status reply.
void on_message(mosquitto*, void* obj, const mosquitto_message*) {
    ++static_cast<Mqtt*>(obj)->statuses;
}

/// Milliseconds since the epoch (the samples' timestamps).
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

    const size_t meters = args.modbus_ports.size() * static_cast<size_t>(args.units);
    std::vector<std::string> tokens;
    for (size_t i = 1; i <= meters; ++i) {
        char token[32];
        std::snprintf(token, sizeof token, "meter-%03zu", i);
        tokens.emplace_back(token);
    }
    std::vector<std::string> names;
    for (int r = 0; r < args.registers; ++r) {
        char name[16];
        std::snprintf(name, sizeof name, "reg_%02d", r);
        names.emplace_back(name);
    }
    const std::string topic_base = "kp1/" + args.app + "/dcx/";

    mosquitto_lib_init();
    Mqtt m;
    if (args.subscribe_status)
        m.status_filter = topic_base + "+/json/+/status";
    mosquitto* mosq = mosquitto_new(("peer-floor-" + std::to_string(getpid())).c_str(), true, &m);
    if (mosq == nullptr) {
        std::fprintf(stderr, "peer_floor: mosquitto_new failed\n");
        return 1;
    }
    mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_connect_callback_set(mosq, on_connect);
    mosquitto_publish_callback_set(mosq, on_publish);
    mosquitto_message_callback_set(mosq, on_message);
    if (int rc = mosquitto_connect(mosq, args.host.c_str(), args.mqtt_port, 60);
        rc != MOSQ_ERR_SUCCESS) {
        std::fprintf(stderr, "peer_floor: cannot connect to MQTT %s:%d: %s\n", args.host.c_str(),
                     args.mqtt_port, mosquitto_strerror(rc));
        return 1;
    }
    if (int rc = mosquitto_loop_start(mosq); rc != MOSQ_ERR_SUCCESS) {
        std::fprintf(stderr, "peer_floor: mosquitto_loop_start: %s\n", mosquitto_strerror(rc));
        return 1;
    }
    {
        std::unique_lock<std::mutex> lock(m.mutex);
        if (!m.cv.wait_for(lock, std::chrono::seconds(10), [&] { return m.connected; })) {
            std::fprintf(stderr, "peer_floor: no CONNACK within 10 s\n");
            return 1;
        }
    }

    std::vector<modbus_t*> links;
    for (int port : args.modbus_ports) {
        modbus_t* ctx = modbus_new_tcp_pi(args.host.c_str(), std::to_string(port).c_str());
        if (ctx == nullptr) {
            std::fprintf(stderr, "peer_floor: modbus_new_tcp_pi: %s\n", std::strerror(errno));
            return 1;
        }
        modbus_set_response_timeout(ctx, 0, 500000);
        if (modbus_connect(ctx) != 0) {
            std::fprintf(stderr, "peer_floor: cannot connect to Modbus port %d: %s\n", port,
                         modbus_strerror(errno));
            return 1;
        }
        links.push_back(ctx);
    }
    std::fprintf(stderr,
                 "peer_floor: polling %zu meters (%zu connections x %d units) every %d ms\n",
                 meters, links.size(), args.units, args.interval_ms);

    std::vector<uint16_t> words(static_cast<size_t>(args.registers));
    uint32_t rid = 1;
    uint64_t published = 0;
    uint64_t failed_reads = 0;
    const auto interval = std::chrono::milliseconds(args.interval_ms);
    const auto start = std::chrono::steady_clock::now();
    const auto end = start + std::chrono::seconds(args.seconds);
    auto next = start;
    while (!g_stop && (args.seconds == 0 || next < end)) {
        size_t meter = 0;
        for (modbus_t* ctx : links) {
            for (int unit = 1; unit <= args.units && !g_stop; ++unit, ++meter) {
                const int64_t timestamp = wall_ms();
                modbus_set_slave(ctx, unit);
                if (modbus_read_registers(ctx, 0, args.registers, words.data()) != args.registers) {
                    ++failed_reads;
                    continue;
                }
                nlohmann::ordered_json sample = nlohmann::ordered_json::object();
                sample["timestamp"] = timestamp;
                for (int r = 0; r < args.registers; ++r)
                    sample[names[static_cast<size_t>(r)]] = uint64_t{words[static_cast<size_t>(r)]};
                std::string payload;
                payload.push_back('[');
                payload += sample.dump();
                payload.push_back(']');
                const std::string topic =
                    topic_base + tokens[meter] + "/json/" + std::to_string(rid);
                rid = rid >= 0x7fffffffu ? 1 : rid + 1;
                if (mosquitto_publish(mosq, nullptr, topic.c_str(),
                                      static_cast<int>(payload.size()), payload.data(), 1,
                                      false) == MOSQ_ERR_SUCCESS)
                    ++published;
            }
        }
        next += interval;
        const auto now = std::chrono::steady_clock::now();
        if (next < now)
            next = now;
        while (!g_stop && std::chrono::steady_clock::now() < next)
            std::this_thread::sleep_until(next);
    }

    for (modbus_t* ctx : links) {
        modbus_close(ctx);
        modbus_free(ctx);
    }
    mosquitto_disconnect(mosq);
    mosquitto_loop_stop(mosq, false);
    mosquitto_destroy(mosq);
    mosquitto_lib_cleanup();
    std::fprintf(stderr,
                 "peer_floor: %llu samples published, %llu acknowledged, %llu status replies, "
                 "%llu failed polls\n",
                 static_cast<unsigned long long>(published),
                 static_cast<unsigned long long>(m.acked.load()),
                 static_cast<unsigned long long>(m.statuses.load()),
                 static_cast<unsigned long long>(failed_reads));
    return 0;
}
