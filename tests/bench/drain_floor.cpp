// drain_floor: the least a program can do to send a buffered backlog to Kaa with libmosquitto:
// the floor that tests/bench/bench_drain.py measures kaa-gatewayd's backlog drain against.
//
// It reads its own copy of a buffer file written by fill_buffer (the daemon's schema:
// samples(key, ts, record), key = meter number << 44 | id, numbers in table meters) with plain
// SQLite, and sends the same bytes the daemon sends when it drains that backlog: per meter, the
// rows in id order in JSON arrays of up to --batch samples ("[" + sample + "," + sample ... +
// "]"), each sample Kaa's {"timestamp":<ts>,<the record's members>} as the daemon's
// daemon/kaa/sample_payload.cpp writes it (fill_buffer writes no null values, the one case in
// which the daemon rebuilds a record, so splicing the record is all it takes here),
// meters taken round-robin one batch at a time, each array published at QoS 1 to
//
//     kp1/<app>/dcx/<token>/json/<rid>      (token = meter name, rid = 1, 2, 3, ...)
//
// over one libmosquitto connection run by mosquitto_loop_start(), as fast as libmosquitto
// takes them (its own default of 20 QoS 1 messages in flight; the rest waits in its queue).
// It is done when every PUBACK has arrived. It does NOT wait for Kaa's /status answers (and does
// not subscribe to them): the floor is "the same bytes reach the broker", the least any
// publisher must do; the daemon additionally waits for /status before deleting a batch.
//
// Usage: drain_floor --db PATH --mqtt-port P [--meters 10] [--batch 500] [--app bench_flr]
//                    [--host 127.0.0.1] [--timeout 600]
// Prints one summary line on stdout; exit 0 when every publish was acknowledged.
#include <mosquitto.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace {

using SteadyClock = std::chrono::steady_clock;

struct Args {
    std::string db;
    std::string host = "127.0.0.1";
    int mqtt_port = 0;
    size_t meters = 10;
    size_t batch = 500;
    std::string app = "bench_flr";
    int timeout_s = 600;
};

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr,
                 "drain_floor: %s\nusage: drain_floor --db PATH --mqtt-port P [--meters N] "
                 "[--batch N] [--app NAME] [--host H] [--timeout S]\n",
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
        if (k == "--db")
            a.db = value();
        else if (k == "--mqtt-port")
            a.mqtt_port = std::atoi(value());
        else if (k == "--meters")
            a.meters = std::strtoul(value(), nullptr, 10);
        else if (k == "--batch")
            a.batch = std::strtoul(value(), nullptr, 10);
        else if (k == "--app")
            a.app = value();
        else if (k == "--host")
            a.host = value();
        else if (k == "--timeout")
            a.timeout_s = std::atoi(value());
        else
            usage("unknown argument");
    }
    if (a.db.empty() || a.mqtt_port <= 0)
        usage("--db and --mqtt-port are required");
    if (a.meters == 0 || a.meters > 999 || a.batch == 0 || a.timeout_s <= 0)
        usage("--meters 1..999, --batch and --timeout positive");
    return a;
}

struct Mqtt {
    std::mutex mutex;
    std::condition_variable cv;
    bool connected = false;
    uint64_t acked = 0;
};

void on_connect(mosquitto*, void* obj, int rc) {
    auto* m = static_cast<Mqtt*>(obj);
    std::lock_guard<std::mutex> lock(m->mutex);
    m->connected = rc == 0;
    m->cv.notify_all();
}

void on_publish(mosquitto*, void* obj, int) {
    auto* m = static_cast<Mqtt*>(obj);
    std::lock_guard<std::mutex> lock(m->mutex);
    ++m->acked;
    m->cv.notify_all();
}

double seconds_since(SteadyClock::time_point t) {
    return std::chrono::duration<double>(SteadyClock::now() - t).count();
}

/// Appends Kaa's sample: {"timestamp":<ts>, then the members of the record {...}, then }.
void append_sample(std::string& out, int64_t ts, const char* record, size_t size) {
    char digits[24];
    const int len =
        std::snprintf(digits, sizeof digits, "{\"timestamp\":%lld", static_cast<long long>(ts));
    out.append(digits, static_cast<size_t>(len));
    if (size > 2) {
        out.push_back(',');
        out.append(record + 1, size - 2);
    }
    out.push_back('}');
}

}  // namespace

int main(int argc, char** argv) {
    const Args args = parse_args(argc, argv);
    const auto started = SteadyClock::now();

    sqlite3* db = nullptr;
    if (sqlite3_open_v2(args.db.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
        std::fprintf(stderr, "drain_floor: cannot open %s: %s\n", args.db.c_str(),
                     db ? sqlite3_errmsg(db) : "out of memory");
        return 1;
    }
    // One cursor per meter, over its range of keys in id order, as the daemon reads it.
    std::vector<std::string> tokens;
    std::vector<sqlite3_stmt*> cursors;
    for (size_t m = 1; m <= args.meters; ++m) {
        char name[32];
        std::snprintf(name, sizeof name, "meter-%03zu", m);
        tokens.emplace_back(name);
        sqlite3_stmt* lookup = nullptr;
        int64_t number = -1;
        if (sqlite3_prepare_v2(db, "SELECT number FROM meters WHERE name = ?1", -1, &lookup,
                               nullptr) == SQLITE_OK) {
            sqlite3_bind_text(lookup, 1, name, -1, SQLITE_TRANSIENT);
            if (sqlite3_step(lookup) == SQLITE_ROW)
                number = sqlite3_column_int64(lookup, 0);
        }
        sqlite3_finalize(lookup);
        sqlite3_stmt* stmt = nullptr;
        if (number < 0 ||
            sqlite3_prepare_v2(
                db, "SELECT ts, record FROM samples WHERE key BETWEEN ?1 AND ?2 ORDER BY key", -1,
                &stmt, nullptr) != SQLITE_OK) {
            std::fprintf(stderr, "drain_floor: no rows for %s: %s\n", name, sqlite3_errmsg(db));
            return 1;
        }
        sqlite3_bind_int64(stmt, 1, number << 44);
        sqlite3_bind_int64(stmt, 2, ((number + 1) << 44) - 1);
        cursors.push_back(stmt);
    }
    // All cursors read from one snapshot.
    sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);

    mosquitto_lib_init();
    Mqtt m;
    mosquitto* mosq = mosquitto_new(("drain-floor-" + std::to_string(getpid())).c_str(), true, &m);
    if (mosq == nullptr) {
        std::fprintf(stderr, "drain_floor: mosquitto_new failed\n");
        return 1;
    }
    mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_connect_callback_set(mosq, on_connect);
    mosquitto_publish_callback_set(mosq, on_publish);
    if (int rc = mosquitto_connect(mosq, args.host.c_str(), args.mqtt_port, 60);
        rc != MOSQ_ERR_SUCCESS) {
        std::fprintf(stderr, "drain_floor: cannot connect to MQTT %s:%d: %s\n", args.host.c_str(),
                     args.mqtt_port, mosquitto_strerror(rc));
        return 1;
    }
    if (int rc = mosquitto_loop_start(mosq); rc != MOSQ_ERR_SUCCESS) {
        std::fprintf(stderr, "drain_floor: mosquitto_loop_start: %s\n", mosquitto_strerror(rc));
        return 1;
    }
    {
        std::unique_lock<std::mutex> lock(m.mutex);
        if (!m.cv.wait_for(lock, std::chrono::seconds(10), [&] { return m.connected; })) {
            std::fprintf(stderr, "drain_floor: no CONNACK within 10 s\n");
            return 1;
        }
    }

    const auto first_publish = SteadyClock::now();
    const std::string topic_base = "kp1/" + args.app + "/dcx/";
    std::vector<bool> done(args.meters, false);
    size_t remaining = args.meters;
    uint64_t samples = 0, publishes = 0, payload_bytes = 0, failed = 0;
    uint32_t rid = 1;
    std::string payload;
    std::string topic;
    while (remaining > 0) {
        for (size_t meter = 0; meter < args.meters; ++meter) {
            if (done[meter])
                continue;
            sqlite3_stmt* stmt = cursors[meter];
            payload.clear();
            payload.push_back('[');
            size_t n = 0;
            int rc = SQLITE_ROW;
            while (n < args.batch && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
                if (n > 0)
                    payload.push_back(',');
                append_sample(payload, sqlite3_column_int64(stmt, 0),
                              reinterpret_cast<const char*>(sqlite3_column_text(stmt, 1)),
                              static_cast<size_t>(sqlite3_column_bytes(stmt, 1)));
                ++n;
            }
            if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
                std::fprintf(stderr, "drain_floor: read %s: %s\n", tokens[meter].c_str(),
                             sqlite3_errmsg(db));
                return 1;
            }
            if (rc == SQLITE_DONE) {
                done[meter] = true;
                --remaining;
            }
            if (n == 0)
                continue;
            payload.push_back(']');
            topic = topic_base;
            topic += tokens[meter];
            topic += "/json/";
            topic += std::to_string(rid++);
            const int prc =
                mosquitto_publish(mosq, nullptr, topic.c_str(), static_cast<int>(payload.size()),
                                  payload.data(), 1, false);
            if (prc != MOSQ_ERR_SUCCESS) {
                ++failed;
                std::fprintf(stderr, "drain_floor: publish failed: %s\n", mosquitto_strerror(prc));
                continue;
            }
            ++publishes;
            samples += n;
            payload_bytes += payload.size();
        }
    }
    const double queued_s = seconds_since(first_publish);

    bool all_acked = false;
    {
        std::unique_lock<std::mutex> lock(m.mutex);
        all_acked = m.cv.wait_for(lock, std::chrono::seconds(args.timeout_s),
                                  [&] { return m.acked >= publishes; });
    }
    const double acked_s = seconds_since(first_publish);
    const double total_s = seconds_since(started);
    uint64_t acked = 0;
    {
        std::lock_guard<std::mutex> lock(m.mutex);
        acked = m.acked;
    }

    for (sqlite3_stmt* stmt : cursors)
        sqlite3_finalize(stmt);
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
    sqlite3_close(db);
    mosquitto_disconnect(mosq);
    mosquitto_loop_stop(mosq, false);
    mosquitto_destroy(mosq);
    mosquitto_lib_cleanup();

    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    const double cpu_s = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
    std::printf(
        "drain_floor: %llu samples in %llu publishes (%llu payload bytes, batch %zu), "
        "%llu PUBACKs; all read and handed to libmosquitto after %.3f s, last PUBACK after "
        "%.3f s (%.3f s since start); waits for PUBACKs only, not for /status; CPU %.2f s, "
        "peak RSS %ld KiB\n",
        static_cast<unsigned long long>(samples), static_cast<unsigned long long>(publishes),
        static_cast<unsigned long long>(payload_bytes), args.batch,
        static_cast<unsigned long long>(acked), queued_s, acked_s, total_s, cpu_s, usage.ru_maxrss);
    if (!all_acked || failed > 0) {
        std::fprintf(stderr, "drain_floor: %llu publishes failed, %llu of %llu acknowledged\n",
                     static_cast<unsigned long long>(failed),
                     static_cast<unsigned long long>(acked),
                     static_cast<unsigned long long>(publishes));
        return 1;
    }
    return 0;
}
