// fill_buffer: writes a backlog into a kaa-gatewayd buffer file through SqliteSampleStore, the
// same code the daemon appends with, for tests/bench/bench_drain.py.
//
// N samples (default 1,000,000) spread round-robin over M meters (default 10) named
// meter-001 .. meter-M (the names the daemon's config must use: rows are keyed by meter
// name), appended in transactions of 500 samples (one "poll round" each). Sample n belongs to
// meter n % M and was read in round n / M: every meter is read once a second, so per meter the
// read times increase by 1000 ms. Each sample's record is a realistic ~180-byte JSON object
// (the read time is the row's own column, not part of the record):
//
//   {"voltage_l1":230.12,"voltage_l2":229.47,...,"energy_import_wh":...}
//
// Usage: fill_buffer PATH [--samples N] [--meters M] [--transaction 500] [--max-bytes BYTES]
// PATH must not exist yet (its directory must). Prints one line: samples, meters, payload
// bytes, file bytes, seconds and the insert rate.
#include <sys/stat.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/buffer/sqlite/sqlite_sample_store.hpp"

namespace {

constexpr int64_t kFirstTimestampMs = 1700000000000;  // 2023-11-14T22:13:20Z
constexpr int64_t kPollIntervalMs = 1000;

struct Args {
    std::string path;
    uint64_t samples = 1'000'000;
    size_t meters = 10;
    size_t transaction = 500;
    uint64_t max_bytes = 8ull * 1024 * 1024 * 1024;  // no overflow while filling
};

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr,
                 "fill_buffer: %s\nusage: fill_buffer PATH [--samples N] [--meters M] "
                 "[--transaction 500] [--max-bytes BYTES]\n",
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
        if (k == "--samples")
            a.samples = std::strtoull(value(), nullptr, 10);
        else if (k == "--meters")
            a.meters = std::strtoul(value(), nullptr, 10);
        else if (k == "--transaction")
            a.transaction = std::strtoul(value(), nullptr, 10);
        else if (k == "--max-bytes")
            a.max_bytes = std::strtoull(value(), nullptr, 10);
        else if (!k.empty() && k[0] == '-')
            usage("unknown option");
        else if (a.path.empty())
            a.path = k;
        else
            usage("more than one PATH");
    }
    if (a.path.empty())
        usage("PATH is required");
    if (a.samples == 0 || a.meters == 0 || a.meters > 999 || a.transaction == 0)
        usage("--samples, --transaction must be positive; --meters 1..999");
    return a;
}

/// meter-001 .. meter-M, as bench_drain.py names the meters in the daemon's config.
std::vector<std::string> meter_names(size_t meters) {
    std::vector<std::string> names;
    char name[32];
    for (size_t m = 1; m <= meters; ++m) {
        std::snprintf(name, sizeof name, "meter-%03zu", m);
        names.emplace_back(name);
    }
    return names;
}

/// Sample n: meter n % M, read in round n / M; values wander a little from round to round.
kaa::BufferedSample make_sample(uint64_t n, size_t meters) {
    const size_t meter = static_cast<size_t>(n % meters);
    const uint64_t round = n / meters;
    const int64_t ts = kFirstTimestampMs + static_cast<int64_t>(round) * kPollIntervalMs;
    const double w = static_cast<double>((round * 7919 + meter * 104729) % 1000) / 1000.0;
    char json[512];
    const int len = std::snprintf(
        json, sizeof json,
        "{\"voltage_l1\":%.2f,\"voltage_l2\":%.2f,\"voltage_l3\":%.2f,"
        "\"current_l1\":%.3f,\"current_l2\":%.3f,\"current_l3\":%.3f,\"power_total\":%.1f,"
        "\"frequency\":%.2f,\"energy_import_wh\":%llu}",
        229.0 + 2 * w, 230.0 + w, 231.5 - w, 5.0 + w, 4.5 + 2 * w, 6.25 - w, 3400.0 + 250 * w,
        49.95 + w / 10, static_cast<unsigned long long>(12345678 + round * 98 + meter));
    return kaa::BufferedSample{meter, ts, std::string(json, static_cast<size_t>(len))};
}

}  // namespace

int main(int argc, char** argv) {
    const Args args = parse_args(argc, argv);
    struct stat st {};
    if (::stat(args.path.c_str(), &st) == 0) {
        std::fprintf(stderr, "fill_buffer: %s exists; give a new path\n", args.path.c_str());
        return 2;
    }
    kaa::SqliteStoreOptions options;
    options.path = args.path;
    options.meter_names = meter_names(args.meters);
    options.max_bytes = args.max_bytes;
    options.overflow = kaa::config::Overflow::kDropNewest;
    auto opened = kaa::SqliteSampleStore::open(options);
    if (!opened) {
        std::fprintf(stderr, "fill_buffer: %s\n", opened.error().message.c_str());
        return 1;
    }
    auto& store = *opened.value();

    const auto start = std::chrono::steady_clock::now();
    std::vector<kaa::BufferedSample> round;
    round.reserve(args.transaction);
    uint64_t payload_bytes = 0;
    for (uint64_t n = 0; n < args.samples;) {
        round.clear();
        for (size_t i = 0; i < args.transaction && n < args.samples; ++i, ++n) {
            round.push_back(make_sample(n, args.meters));
            payload_bytes += round.back().record.size();
        }
        if (auto s = store.append(round); !s) {
            std::fprintf(stderr, "fill_buffer: append failed after %llu samples: %s\n",
                         static_cast<unsigned long long>(n - round.size()),
                         s.error().message.c_str());
            return 1;
        }
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const auto stats = store.stats();
    opened.value().reset();  // closes the database (checkpoints the WAL into the file)

    if (stats.samples != args.samples || stats.dropped_overflow != 0) {
        std::fprintf(stderr, "fill_buffer: the store holds %llu samples (%llu dropped), not %llu\n",
                     static_cast<unsigned long long>(stats.samples),
                     static_cast<unsigned long long>(stats.dropped_overflow),
                     static_cast<unsigned long long>(args.samples));
        return 1;
    }
    uint64_t file_bytes = 0;
    for (const char* suffix : {"", "-wal"}) {
        if (::stat((args.path + suffix).c_str(), &st) == 0)
            file_bytes += static_cast<uint64_t>(st.st_size);
    }
    std::printf(
        "fill_buffer: %llu samples over %zu meters, %llu payload bytes (%.1f per sample), "
        "file %llu bytes, %.2f s, %.0f samples/s in transactions of %zu\n",
        static_cast<unsigned long long>(args.samples), args.meters,
        static_cast<unsigned long long>(payload_bytes),
        static_cast<double>(payload_bytes) / static_cast<double>(args.samples),
        static_cast<unsigned long long>(file_bytes), seconds,
        static_cast<double>(args.samples) / seconds, args.transaction);
    return 0;
}
