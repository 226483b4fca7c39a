// bench_store: the durable insert rate of SqliteSampleStore::append next to a minimal
// program (the floor) that inserts the same rows into SQLite with the same pragmas and
// transaction size, then the take+remove rate of a 1,000,000-sample backlog and the peak RSS.
// Usage: bench_store [directory]  (default /var/tmp: use the disk the buffer lives on)
#include <sqlite3.h>  // only the floor talks to SQLite directly; the store hides it
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "daemon/buffer/sqlite/sqlite_sample_store.hpp"

namespace {

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

constexpr size_t kMeters = 10;
constexpr size_t kInsertSamples = 300000;
constexpr size_t kBacklog = 1000000;
constexpr size_t kDrainBatch = 500;
constexpr int kRepeats = 5;
constexpr uint64_t kMaxBytes = 4ull * 1024 * 1024 * 1024;  // large: no overflow here
constexpr double kMinRatio = 2.0 / 3.0;
constexpr double kMinRate = 300000;
constexpr size_t kTargetPerRound = 500;              // buffer.batch's default
constexpr const char* kStoreSynchronous = "NORMAL";  // as SqliteSampleStore sets it

/// meter-1 .. meter-10.
std::vector<std::string> meter_names() {
    std::vector<std::string> names;
    for (size_t m = 0; m < kMeters; ++m)
        names.push_back("meter-" + std::to_string(m + 1));
    return names;
}

/// A realistic sample: its read time and a record of 20 values, about 180 bytes of JSON.
kaa::BufferedSample make_sample(size_t n) {
    const int64_t ts = 1700000000000 + static_cast<int64_t>(n) * 100;
    std::string record = "{";
    char value[32];
    for (int k = 0; k < 20; ++k) {
        std::snprintf(value, sizeof value, "%s\"%c\":%.1f", k == 0 ? "" : ",", 'a' + k,
                      static_cast<double>((n * 7 + static_cast<size_t>(k) * 131) % 10000) / 10.0);
        record += value;
    }
    return kaa::BufferedSample{n % kMeters, ts, record + "}"};
}

/// One poll round: `count` samples numbered from `first`, meters interleaved.
std::vector<kaa::BufferedSample> make_round(size_t first, size_t count) {
    std::vector<kaa::BufferedSample> round;
    round.reserve(count);
    for (size_t i = 0; i < count; ++i)
        round.push_back(make_sample(first + i));
    return round;
}

/// The floor: plain SQLite with the store's layout (one table samples(key, ts, record), key =
/// meter number << 44 | id) and pragmas (WAL, `synchronous`, the checkpoint interval and WAL
/// limit it picks for a max_bytes of 256 MiB or more), one prepared INSERT, one BEGIN/COMMIT
/// per round.
class Floor {
  public:
    Floor(const std::string& path, const char* synchronous) {
        sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
        const std::string pragmas =
            std::string("PRAGMA journal_mode=WAL; PRAGMA synchronous=") + synchronous + ";";
        sqlite3_exec(db_, pragmas.c_str(), nullptr, nullptr, nullptr);
        sqlite3_exec(db_,
                     "PRAGMA wal_autocheckpoint=4000; PRAGMA journal_size_limit=32960032;"
                     "CREATE TABLE samples(key INTEGER PRIMARY KEY, ts INTEGER NOT NULL,"
                     " record TEXT NOT NULL);",
                     nullptr, nullptr, nullptr);
        sqlite3_prepare_v2(db_, "INSERT INTO samples(key, ts, record) VALUES(?1, ?2, ?3)", -1,
                           &insert_, nullptr);
    }
    ~Floor() {
        sqlite3_finalize(insert_);
        sqlite3_close(db_);
    }
    Floor(const Floor&) = delete;
    Floor& operator=(const Floor&) = delete;

    /// Inserts one round in one transaction; false on any error.
    bool insert(const std::vector<kaa::BufferedSample>& round) {
        bool ok = sqlite3_exec(db_, "BEGIN", nullptr, nullptr, nullptr) == SQLITE_OK;
        for (const kaa::BufferedSample& s : round) {
            const int64_t key = (static_cast<int64_t>(s.meter_index + 1) << 44) + ++next_id_;
            sqlite3_bind_int64(insert_, 1, key);
            sqlite3_bind_int64(insert_, 2, s.read_ms);
            sqlite3_bind_text(insert_, 3, s.record.data(), static_cast<int>(s.record.size()),
                              SQLITE_STATIC);
            ok = sqlite3_step(insert_) == SQLITE_DONE && ok;
            sqlite3_reset(insert_);
        }
        return sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK && ok;
    }

  private:
    sqlite3* db_ = nullptr;
    sqlite3_stmt* insert_ = nullptr;
    int64_t next_id_ = 0;
};

/// Deletes a database and its -wal/-shm.
void remove_db(const std::string& path) {
    for (const char* suffix : {"", "-wal", "-shm"})
        fs::remove(path + suffix);
}

/// Seconds elapsed since `start`.
double seconds_since(SteadyClock::time_point start) {
    return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

/// Opens the store under test (no overflow); exits on failure.
std::unique_ptr<kaa::SqliteSampleStore> open_store(const std::string& path) {
    auto r = kaa::SqliteSampleStore::open(
        {path, meter_names(), kMaxBytes, kaa::config::Overflow::kDropOldest});
    if (!r) {
        std::fprintf(stderr, "cannot open the store: %s\n", r.error().message.c_str());
        std::exit(1);
    }
    return std::move(r.value());
}

/// Samples per second of `total` samples in rounds of `per_round`, timing only the writes.
double floor_rate(const std::string& path, size_t per_round, size_t total,
                  const char* synchronous = kStoreSynchronous) {
    remove_db(path);
    Floor floor(path, synchronous);
    double busy = 0;
    for (size_t first = 0; first < total; first += per_round) {
        const auto round = make_round(first, per_round);
        const auto start = SteadyClock::now();
        if (!floor.insert(round))
            std::fprintf(stderr, "floor: insert failed\n");
        busy += seconds_since(start);
    }
    return static_cast<double>(total) / busy;
}

/// The same as floor_rate, through SqliteSampleStore::append.
double store_rate(const std::string& path, size_t per_round, size_t total) {
    remove_db(path);
    auto store = open_store(path);
    double busy = 0;
    for (size_t first = 0; first < total; first += per_round) {
        const auto round = make_round(first, per_round);
        const auto start = SteadyClock::now();
        if (auto st = store->append(round); !st) {
            std::fprintf(stderr, "store: %s\n", st.error().message.c_str());
        }
        busy += seconds_since(start);
    }
    return static_cast<double>(total) / busy;
}

/// VmHWM of this process in KiB.
long peak_rss_kib() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmHWM:", 0) == 0)
            return std::strtol(line.c_str() + 6, nullptr, 10);
    }
    return -1;
}

/// The middle value.
double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    bool inserts_only = false;  // bench_drain.py prints the insert figures in its own run
    std::string base = "/var/tmp";
    for (int i = 1; i < argc; ++i) {
        if (std::string(argv[i]) == "--inserts-only")
            inserts_only = true;
        else
            base = argv[i];
    }
    std::string tmpl = base + "/bench-store-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) {
        std::perror("mkdtemp");
        return 1;
    }
    const std::string dir = tmpl;
    const std::string path = dir + "/buffer.db";
    kaa::BufferedSample probe = make_sample(12345);
    std::printf("bench_store: %s, SQLite %s, sample JSON %zu bytes (20 values), %zu meters\n",
                dir.c_str(), sqlite3_libversion(), probe.record.size(), kMeters);
    std::printf(
        "journal_mode=WAL synchronous=%s (the store adds a FULL commit every >= 100 ms), "
        "one transaction per round; median of %d\n\n",
        kStoreSynchronous, kRepeats);
    bool pass = true;
    // The targets apply at the buffer's batch size (buffer.batch, 500 by default: a backlog
    // is written and read in such batches); 100 per transaction, a round of 100 meters, is
    // shown for reference: there the commit's fixed cost weighs five times as much.
    for (size_t per_round : {kTargetPerRound, size_t{100}}) {
        std::vector<double> floors, stores;
        for (int r = 0; r < kRepeats; ++r) {
            floors.push_back(floor_rate(path, per_round, kInsertSamples));
            stores.push_back(store_rate(path, per_round, kInsertSamples));
        }
        const double f = median(floors), s = median(stores), ratio = s / f;
        if (per_round != kTargetPerRound) {
            std::printf(
                "reference, insert, %3zu samples/transaction: store %7.0f samples/s, floor "
                "%7.0f samples/s, ratio %.2f\n",
                per_round, s, f, ratio);
            continue;
        }
        const bool ratio_ok = ratio >= kMinRatio, rate_ok = s >= kMinRate;
        pass = pass && ratio_ok && rate_ok;
        std::printf(
            "insert, %3zu samples/transaction: store %7.0f samples/s, floor %7.0f samples/s, "
            "ratio %.2f [%s >= %.2f] [%s >= %.0f/s]\n",
            per_round, s, f, ratio, ratio_ok ? "PASS" : "FAIL", kMinRatio,
            rate_ok ? "PASS" : "FAIL", kMinRate);
    }

    if (inserts_only) {
        fs::remove_all(dir);
        std::printf("\nresult: %s\n", pass ? "PASS" : "FAIL");
        return pass ? 0 : 1;
    }
    for (size_t per_round : {size_t{100}, size_t{500}}) {
        std::printf(
            "reference, floor with synchronous=FULL (an fsync per commit), %3zu "
            "samples/transaction: %9.0f samples/s\n",
            per_round, floor_rate(path, per_round, kInsertSamples / 6, "FULL"));
    }

    remove_db(path);
    auto store = open_store(path);
    double fill = 0;
    for (size_t first = 0; first < kBacklog; first += kDrainBatch) {
        const auto round = make_round(first, kDrainBatch);
        const auto start = SteadyClock::now();
        if (auto st = store->append(round); !st) {
            std::fprintf(stderr, "store: %s\n", st.error().message.c_str());
        }
        fill += seconds_since(start);
    }
    store.reset();
    auto start = SteadyClock::now();
    store = open_store(path);
    const double reopen = seconds_since(start);
    const long peak_before = peak_rss_kib();
    std::ofstream("/proc/self/clear_refs") << "5";  // reset VmHWM: measure the drain alone
    start = SteadyClock::now();
    size_t drained = 0;
    double taking = 0;
    while (store->stats().samples > 0) {
        for (size_t m = 0; m < kMeters; ++m) {
            const auto take_start = SteadyClock::now();
            const auto batch = store->take(m, kDrainBatch);
            taking += seconds_since(take_start);
            std::vector<uint64_t> ids;
            for (const auto& s : batch)
                ids.push_back(s.id);
            if (auto st = store->remove(ids); !st) {
                std::fprintf(stderr, "store: %s\n", st.error().message.c_str());
                return 1;
            }
            drained += ids.size();
        }
    }
    const double drain = seconds_since(start);
    start = SteadyClock::now();
    while (store->compact(5000)) {
    }
    const double compaction = seconds_since(start);
    std::printf(
        "\nbacklog of %zu samples: filled in %.2f s (%.0f samples/s), reopened in %.2f s "
        "(counts; the full check runs only after an unclean close)\n",
        kBacklog, fill, static_cast<double>(kBacklog) / fill, reopen);
    std::printf(
        "drain (take %zu + remove, no MQTT): %zu samples in %.2f s = %.0f samples/s "
        "(take %.2f s, remove %.2f s); deleting the delivered rows afterwards: %.2f s\n",
        kDrainBatch, drained, drain, static_cast<double>(drained) / drain, taking, drain - taking,
        compaction);
    std::printf("peak RSS (VmHWM): %ld KiB before the drain, %ld KiB during the drain\n",
                peak_before, peak_rss_kib());
    store.reset();
    fs::remove_all(dir);
    std::printf("\nresult: %s\n", pass ? "PASS" : "FAIL");
    return pass ? 0 : 1;
}
