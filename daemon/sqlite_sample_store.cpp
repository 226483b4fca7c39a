// Durable sample store on SQLite in WAL mode.
#include "daemon/sqlite_sample_store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <limits>
#include <map>
#include <tuple>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "daemon/buffer_file.hpp"

namespace kaa {
namespace {

constexpr const char* kComponent = "buffer";
constexpr int64_t kSchemaVersion = 2;
constexpr int kBusyTimeoutMs = 5000;
// WAL + synchronous=NORMAL never corrupts and survives kill -9, but leaves commits unsynced
// until a checkpoint. So an append is committed FULL (the WAL fsynced, which makes every
// earlier commit durable too) when the last FULL commit is kSyncInterval old: at poll-round
// rates every append is fsynced; in bursts one in many is, and a power cut loses at most
// the appends of the last kSyncInterval. FULL on every commit measured 190,000 samples/s
// (100 per transaction) on an idle disk and 25,000 on a busy one (bench_store).
constexpr const char* kSynchronous = "PRAGMA synchronous=NORMAL";
constexpr auto kSyncInterval = std::chrono::milliseconds(100);
// Checkpoint interval: 1/16 of max_bytes, between 8 pages and 4000 (16 MiB; 4x SQLite's
// default, +15-30% inserts/s on the target disk, at most ~0.2 s per checkpoint there).
constexpr uint64_t kMinWalPages = 8;
constexpr uint64_t kMaxWalPages = 4000;
constexpr uint64_t kShmBytes = 32 * 1024;
// Record header, cell pointers, rowid and the (meter, id) index entry, per row.
constexpr uint64_t kRowOverhead = 48;
// Pages kept out of the budget: the partly filled last leaves and balancing temporaries.
constexpr uint64_t kSlackPages = 4;

// Rows are clustered by (meter, id): a meter's samples sit together in id order, so taking a
// batch reads a few neighbouring pages, and deleting a confirmed batch rewrites those few
// pages once instead of every page the interleaved rows of all meters share (schema 1 kept
// rows in global id order: a drain of 10 meters rewrote each page ten times).
#define KAA_SAMPLES_TABLE                                                                 \
    "CREATE TABLE samples(meter TEXT NOT NULL, id INTEGER NOT NULL, ts INTEGER NOT NULL," \
    " json TEXT NOT NULL, PRIMARY KEY(meter, id)) WITHOUT ROWID;"
constexpr const char* kSchema =
    "BEGIN IMMEDIATE;" KAA_SAMPLES_TABLE "PRAGMA user_version=2;COMMIT;";
// Schema 1 (rowid table + index on (meter, id)) to 2: same columns, clustered.
constexpr const char* kMigrateFrom1 =
    "BEGIN IMMEDIATE;"
    "DROP INDEX IF EXISTS samples_by_meter;"
    "ALTER TABLE samples RENAME TO samples_v1;" KAA_SAMPLES_TABLE
    "INSERT INTO samples(meter, id, ts, json) SELECT meter, id, ts, json FROM samples_v1;"
    "DROP TABLE samples_v1;"
    "PRAGMA user_version=2;"
    "COMMIT;";
#undef KAA_SAMPLES_TABLE

/// Resets a statement when the scope ends, so it can be stepped again next time.
class Reset {
  public:
    explicit Reset(sqlite3_stmt* stmt) : stmt_(stmt) {}
    ~Reset() { sqlite3_reset(stmt_); }
    Reset(const Reset&) = delete;
    Reset& operator=(const Reset&) = delete;

  private:
    sqlite3_stmt* stmt_;
};

/// Shorthand for an I/O error with a formatted message.
template <typename... Args>
Error io_error(int code, fmt::format_string<Args...> format, Args&&... args) {
    return make_error(ErrorKind::kIo, fmt::format(format, std::forward<Args>(args)...), code);
}

/// Plain words for a SQLite failure, using the OS errno where SQLite records it.
std::string cause(int rc, int sys_errno, const std::string& path) {
    static const std::map<int, const char*> kCodeWords = {
        {SQLITE_FULL, "disk full"},
        {SQLITE_READONLY, "read-only (check the file's owner and permissions)"},
        {SQLITE_PERM, "permission denied"},
        {SQLITE_CORRUPT, "the file is damaged"},
        {SQLITE_NOTADB, "not a SQLite database"},
        {SQLITE_BUSY, "locked by another process"},
        {SQLITE_NOMEM, "out of memory"},
        {SQLITE_IOERR, "I/O error"},
        {SQLITE_CANTOPEN, "cannot open the file"}};
    const int primary = rc & 0xff;
    if ((primary == SQLITE_READONLY || primary == SQLITE_CANTOPEN) &&
        buffer_file::on_read_only_fs(path)) {
        return "read-only file system";
    }
    const auto it = kCodeWords.find(primary);
    if (it == kCodeWords.end())
        return sqlite3_errstr(rc);
    // SQLite keeps errno only for these codes; for the others it is stale.
    if ((primary == SQLITE_IOERR || primary == SQLITE_CANTOPEN) && sys_errno != 0) {
        return fmt::format("{}: {}", it->second, buffer_file::errno_words(sys_errno));
    }
    return it->second;
}

bool is_damage(int rc) {
    return (rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB;
}

std::string column_string(sqlite3_stmt* stmt, int column) {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, column));
    return text == nullptr
               ? std::string()
               : std::string(text, static_cast<size_t>(sqlite3_column_bytes(stmt, column)));
}

}  // namespace

SqliteSampleStore::SqliteSampleStore(const SqliteStoreOptions& options) : options_(options) {
    for (size_t i = 0; i < options_.meter_names.size(); ++i) {
        meters_.push_back(MeterState{options_.meter_names[i], {}, {}});
        index_by_name_.emplace(options_.meter_names[i], i);
    }
}

SqliteSampleStore::~SqliteSampleStore() {
    close_database();
}

Result<std::unique_ptr<SqliteSampleStore>> SqliteSampleStore::open(
    const SqliteStoreOptions& options) {
    const std::set<std::string> unique(options.meter_names.begin(), options.meter_names.end());
    if (options.path.empty() || unique.size() != options.meter_names.size()) {
        return make_error(ErrorKind::kInvalidArgument,
                          "buffer: the path is empty or the meter names are not unique");
    }
    if (auto st = buffer_file::check_writable(options.path); !st)
        return st.error();
    std::unique_ptr<SqliteSampleStore> store(new SqliteSampleStore(options));
    Status st = store->open_database();
    if (!st && is_damage(st.error().code)) {
        store->close_database();
        auto moved = buffer_file::move_aside(options.path, std::time(nullptr));
        if (!moved)
            return moved.error();
        spdlog::error(
            "{}; moved it to {} and started an empty buffer (the samples in the "
            "damaged file will not be delivered)",
            st.error().message, moved.value());
        st = store->open_database();
    }
    if (st)
        st = store->load_counts();
    if (!st)
        return st.error();
    spdlog::info("{}: {} opened: {} samples ({} payload bytes) waiting, {} of {} bytes used",
                 kComponent, options.path, store->stats_.samples, store->stats_.bytes,
                 store->used_bytes_, options.max_bytes);
    return Result<std::unique_ptr<SqliteSampleStore>>(std::move(store));
}

Status SqliteSampleStore::fail(int rc, const char* what) {
    const int sys_errno = db_ != nullptr ? sqlite3_system_errno(db_) : 0;
    const char* detail = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    return io_error(rc, "buffer {}: cannot {}: {} ({})", options_.path, what,
                    cause(rc, sys_errno, options_.path), detail);
}

Status SqliteSampleStore::query(const std::string& sql, std::string* out) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr);
    bool first = true;
    while (rc == SQLITE_OK || rc == SQLITE_ROW) {
        rc = sqlite3_step(stmt);
        if (rc == SQLITE_ROW && first && out != nullptr)
            *out = column_string(stmt, 0);
        first = first && rc != SQLITE_ROW;
    }
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE ? Status{} : fail(rc, "read the database");
}

Status SqliteSampleStore::open_database() {
    const int rc =
        sqlite3_open_v2(options_.path.c_str(), &db_,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK)
        return fail(rc, "open the database");
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, kBusyTimeoutMs);
    if (sqlite3_db_readonly(db_, "main") == 1)
        return fail(SQLITE_READONLY, "open for writing");
    std::string mode, check, page_size, version;
    // secure_delete is on in Debian's build: it zeroes every deleted row, doubling drain I/O.
    const std::pair<std::string, std::string*> setup[] = {{"PRAGMA journal_mode=WAL", &mode},
                                                          {"PRAGMA secure_delete=OFF", nullptr},
                                                          {kSynchronous, nullptr},
                                                          {"PRAGMA quick_check(1)", &check},
                                                          {"PRAGMA page_size", &page_size},
                                                          {"PRAGMA user_version", &version}};
    for (const auto& [sql, out] : setup) {
        if (auto st = query(sql, out); !st)
            return st;
        if (out == &mode && mode != "wal") {
            return io_error(0, "buffer {}: cannot use WAL mode (journal mode stays '{}')",
                            options_.path, mode);
        }
    }
    if (check != "ok") {
        std::replace(check.begin(), check.end(), '\n', ' ');
        return io_error(SQLITE_CORRUPT, "buffer {}: the file is damaged (integrity check: {})",
                        options_.path, check);
    }
    const int64_t schema = std::strtoll(version.c_str(), nullptr, 10);
    if (schema > kSchemaVersion) {
        return io_error(0,
                        "buffer {}: written by a newer kaa-gateway (schema {}, this one "
                        "knows {}); upgrade, or move the file away",
                        options_.path, schema, kSchemaVersion);
    }
    page_size_ = std::max<uint64_t>(512, std::strtoull(page_size.c_str(), nullptr, 10));
    // Checkpoint every half allowance; truncate the WAL back to the allowance afterwards.
    const uint64_t wal_pages =
        std::clamp(options_.max_bytes / 16 / page_size_, kMinWalPages, kMaxWalPages);
    const uint64_t wal_bytes = 32 + 2 * wal_pages * (page_size_ + 24);
    const uint64_t reserved = wal_bytes + kShmBytes + kSlackPages * page_size_;
    data_budget_ = options_.max_bytes > reserved ? options_.max_bytes - reserved : 0;
    for (const std::string& sql : {fmt::format("PRAGMA wal_autocheckpoint={}", wal_pages),
                                   fmt::format("PRAGMA journal_size_limit={}", wal_bytes)}) {
        if (auto st = query(sql, nullptr); !st)
            return st;
    }
    if (schema < kSchemaVersion) {
        const int created =
            sqlite3_exec(db_, schema == 1 ? kMigrateFrom1 : kSchema, nullptr, nullptr, nullptr);
        if (created != SQLITE_OK) {
            Status st = fail(created, "create the tables");
            rollback();
            return st;
        }
    }
    return prepare_statements();
}

Status SqliteSampleStore::prepare_statements() {
    const std::pair<sqlite3_stmt**, const char*> all[] = {
        {&begin_, "BEGIN IMMEDIATE"},
        {&commit_, "COMMIT"},
        {&insert_, "INSERT INTO samples(id, meter, ts, json) VALUES(?1, ?2, ?3, ?4)"},
        {&select_new_,
         "SELECT id, ts, json FROM samples WHERE meter = ?1 AND id > ?2 AND id < ?4 ORDER BY id "
         "LIMIT ?3"},
        {&select_one_, "SELECT ts, json FROM samples WHERE meter = ?2 AND id = ?1"},
        {&delete_,
         "DELETE FROM samples WHERE meter = ?2 AND id = ?1 RETURNING length(CAST(json AS BLOB))"},
        {&delete_taken_, "DELETE FROM samples WHERE meter = ?2 AND id = ?1"},
        {&delete_unknown_,
         "DELETE FROM samples WHERE id = ?1 RETURNING meter, length(CAST(json AS BLOB))"},
        {&oldest_, "SELECT id FROM samples WHERE meter = ?1 ORDER BY id LIMIT ?2"},
        {&page_count_, "PRAGMA page_count"},
        {&freelist_count_, "PRAGMA freelist_count"},
    };
    for (const auto& [stmt, sql] : all) {
        const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, nullptr);
        if (rc != SQLITE_OK)
            return fail(rc, "prepare statements (not a kaa-gateway buffer?)");
    }
    return {};
}

Status SqliteSampleStore::load_counts() {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db_,
                                "SELECT meter, count(*), sum(length(CAST(json AS BLOB))), max(id) "
                                "FROM samples GROUP BY meter",
                                -1, &stmt, nullptr);
    std::map<std::string, uint64_t> orphans;
    while (rc == SQLITE_OK || rc == SQLITE_ROW) {
        rc = sqlite3_step(stmt);
        if (rc != SQLITE_ROW)
            break;
        const std::string name = column_string(stmt, 0);
        const auto count = static_cast<uint64_t>(sqlite3_column_int64(stmt, 1));
        stats_.samples += count;
        stats_.bytes += static_cast<uint64_t>(sqlite3_column_int64(stmt, 2));
        next_id_ = std::max(next_id_, static_cast<uint64_t>(sqlite3_column_int64(stmt, 3)) + 1);
        const auto it = index_by_name_.find(name);
        if (it != index_by_name_.end()) {
            meters_[it->second].backlog.pending = count;
        } else {
            orphans[name] = count;
            orphaned_ += count;
            orphan_names_.push_back(name);
        }
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE)
        return fail(rc, "count the waiting samples");
    live_from_ = next_id_;  // what is on disk is backlog
    for (MeterState& m : meters_)
        m.live.cursor = live_from_ - 1;
    if (!orphans.empty()) {
        std::string list;
        for (const auto& [name, count] : orphans) {
            list += fmt::format("{}{} ({})", list.empty() ? "" : ", ", name, count);
        }
        spdlog::warn(
            "{}: {} keeps {} samples of meters that are not in the configuration: {}; "
            "they are not delivered (add the meter back to deliver them)",
            kComponent, options_.path, orphaned_, list);
    }
    return measure(used_bytes_);
}

void SqliteSampleStore::close_database() {
    for (sqlite3_stmt** stmt :
         {&begin_, &commit_, &insert_, &select_new_, &select_one_, &delete_, &delete_taken_,
          &delete_unknown_, &oldest_, &page_count_, &freelist_count_}) {
        sqlite3_finalize(*stmt);
        *stmt = nullptr;
    }
    sqlite3_close(db_);
    db_ = nullptr;
}

Status SqliteSampleStore::exec(sqlite3_stmt* stmt, const char* what) {
    Reset reset(stmt);
    const int rc = sqlite3_step(stmt);
    return rc == SQLITE_DONE ? Status{} : fail(rc, what);
}

void SqliteSampleStore::rollback() {
    if (sqlite3_get_autocommit(db_) != 0)
        return;  // none open, or SQLite rolled back already
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

Status SqliteSampleStore::measure(uint64_t& used_bytes) {
    int64_t counts[2] = {0, 0};
    sqlite3_stmt* stmts[2] = {page_count_, freelist_count_};
    for (int i = 0; i < 2; ++i) {
        Reset reset(stmts[i]);
        const int rc = sqlite3_step(stmts[i]);
        if (rc != SQLITE_ROW)
            return fail(rc, "measure the database");
        counts[i] = sqlite3_column_int64(stmts[i], 0);
    }
    used_bytes = static_cast<uint64_t>(std::max<int64_t>(0, counts[0] - counts[1])) * page_size_;
    return {};
}

uint64_t SqliteSampleStore::row_cost(const Sample& sample) const {
    return sample.json.size() + 2 * meters_[sample.meter_index].name.size() + kRowOverhead;
}

Status SqliteSampleStore::insert(const Sample& sample, uint64_t id) {
    Reset reset(insert_);
    const std::string& meter = meters_[sample.meter_index].name;
    sqlite3_bind_int64(insert_, 1, static_cast<sqlite3_int64>(id));
    sqlite3_bind_text(insert_, 2, meter.data(), static_cast<int>(meter.size()), SQLITE_STATIC);
    sqlite3_bind_int64(insert_, 3, sample.timestamp_ms);
    sqlite3_bind_text(insert_, 4, sample.json.data(), static_cast<int>(sample.json.size()),
                      SQLITE_STATIC);
    const int rc = sqlite3_step(insert_);
    return rc == SQLITE_DONE ? Status{} : fail(rc, "write samples");
}

Status SqliteSampleStore::append(const std::vector<Sample>& samples) {
    if (samples.empty())
        return {};
    uint64_t incoming = 0;
    for (const Sample& s : samples) {
        if (s.meter_index >= meters_.size()) {
            return make_error(ErrorKind::kInvalidArgument,
                              fmt::format("buffer: sample for unknown meter {}", s.meter_index));
        }
        incoming += row_cost(s);
    }
    const auto now = std::chrono::steady_clock::now();
    const bool sync = now - last_sync_ >= kSyncInterval;
    if (sync != full_sync_) {  // a pragma takes effect when prepared: no cached statement
        const int rc = sqlite3_exec(db_, sync ? "PRAGMA synchronous=FULL" : kSynchronous, nullptr,
                                    nullptr, nullptr);
        if (rc != SQLITE_OK)
            return fail(rc, "set synchronous");
        full_sync_ = sync;
    }
    if (auto st = exec(begin_, "start a transaction"); !st)
        return st;
    std::vector<Gone> gone;
    size_t accepted = samples.size();
    Status st;
    // used_bytes_ is an upper estimate between measurements: measured (inside the
    // transaction) only near the budget, where deletions since may have freed pages.
    uint64_t used = used_bytes_;
    if (used + incoming > data_budget_ && (st = measure(used)) && used + incoming > data_budget_) {
        if (options_.overflow == config::Overflow::kDropOldest) {
            const size_t chunk = std::max<size_t>(samples.size(), stats_.samples / 100);
            while (st && used + incoming > data_budget_) {
                const size_t before = gone.size();
                st = drop_oldest(chunk, gone);
                if (st)
                    st = measure(used);
                if (gone.size() == before)
                    break;  // only taken rows are left
            }
        }
        // What still does not fit is refused: the newest samples of the round.
        accepted = 0;
        while (accepted < samples.size() && used + row_cost(samples[accepted]) <= data_budget_) {
            used += row_cost(samples[accepted++]);
        }
    } else {
        used += incoming;
    }
    for (size_t i = 0; st && i < accepted; ++i)
        st = insert(samples[i], next_id_ + i);
    // row_cost() underestimates rows that fill a page on their own (large samples): near
    // the budget, measure what the rows really took and give back what does not fit.
    if (st && used > data_budget_ / 2 && (st = measure(used)) && used > data_budget_) {
        st = shrink_to_budget(samples, accepted, gone, used);
    }
    if (st)
        st = exec(commit_, "commit samples");
    if (!st) {
        rollback();
        return st;
    }
    if (sync)
        last_sync_ = now;
    for (const Gone& row : gone)
        forget(row);
    stats_.dropped_overflow += gone.size() + (samples.size() - accepted);
    for (size_t i = 0; i < accepted; ++i) {
        ++lane_of(meters_[samples[i].meter_index], next_id_ + i).pending;
        ++stats_.samples;
        stats_.bytes += samples[i].json.size();
    }
    next_id_ += accepted;
    used_bytes_ = used;
    return {};
}

Status SqliteSampleStore::shrink_to_budget(const std::vector<Sample>& samples, size_t& accepted,
                                           std::vector<Gone>& gone, uint64_t& used) {
    Status st;
    if (options_.overflow == config::Overflow::kDropOldest) {
        const size_t chunk = std::max<size_t>(1, stats_.samples / 100);
        while (st && used > data_budget_) {
            const size_t before = gone.size();
            st = drop_oldest(chunk, gone);
            if (st)
                st = measure(used);
            if (gone.size() == before)
                break;  // only rows in flight are left: refuse the newest below
        }
    }
    // Refuse this round's newest rows until the rest fits.
    while (st && used > data_budget_ && accepted > 0) {
        --accepted;
        const std::string& name = meters_[samples[accepted].meter_index].name;
        Reset reset(delete_taken_);
        sqlite3_bind_int64(delete_taken_, 1, static_cast<sqlite3_int64>(next_id_ + accepted));
        sqlite3_bind_text(delete_taken_, 2, name.data(), static_cast<int>(name.size()),
                          SQLITE_STATIC);
        if (const int rc = sqlite3_step(delete_taken_); rc != SQLITE_DONE)
            return fail(rc, "refuse samples over the budget");
        st = measure(used);
    }
    return st;
}

Status SqliteSampleStore::drop_oldest(size_t count, std::vector<Gone>& gone) {
    // The oldest rows overall are among the first `count` waiting rows of each meter.
    struct Candidate {
        uint64_t id;
        size_t meter;
        const std::string* name;
    };
    std::vector<Candidate> candidates;
    const size_t limit = count + taken_.size();
    const size_t meters = meters_.size() + orphan_names_.size();
    for (size_t slot = 0; slot < meters; ++slot) {
        const bool orphan = slot >= meters_.size();
        const std::string& name =
            orphan ? orphan_names_[slot - meters_.size()] : meters_[slot].name;
        Reset reset(oldest_);
        sqlite3_bind_text(oldest_, 1, name.data(), static_cast<int>(name.size()), SQLITE_STATIC);
        sqlite3_bind_int64(oldest_, 2, static_cast<sqlite3_int64>(limit));
        size_t found = 0;
        int rc = SQLITE_DONE;
        while (found < count && (rc = sqlite3_step(oldest_)) == SQLITE_ROW) {
            const auto id = static_cast<uint64_t>(sqlite3_column_int64(oldest_, 0));
            if (taken_.count(id) > 0)
                continue;  // never drop samples in flight
            candidates.push_back(Candidate{id, orphan ? kOrphan : slot, &name});
            ++found;
        }
        if (found < count && rc != SQLITE_DONE)
            return fail(rc, "find the oldest samples");
    }
    const size_t keep = std::min(count, candidates.size());
    std::partial_sort(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(keep),
                      candidates.end(),
                      [](const Candidate& a, const Candidate& b) { return a.id < b.id; });
    candidates.resize(keep);
    std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
        return std::tie(*a.name, a.id) < std::tie(*b.name, b.id);
    });
    for (const Candidate& c : candidates) {
        if (auto st = delete_waiting(c.id, c.meter, *c.name, gone); !st)
            return st;
    }
    return {};
}

Status SqliteSampleStore::delete_waiting(uint64_t id, size_t meter, const std::string& name,
                                         std::vector<Gone>& gone) {
    Reset reset(delete_);
    sqlite3_bind_int64(delete_, 1, static_cast<sqlite3_int64>(id));
    sqlite3_bind_text(delete_, 2, name.data(), static_cast<int>(name.size()), SQLITE_STATIC);
    int rc = sqlite3_step(delete_);
    if (rc == SQLITE_ROW) {
        gone.push_back(Gone{id, meter, static_cast<uint64_t>(sqlite3_column_int64(delete_, 0))});
        rc = sqlite3_step(delete_);
    }
    return rc == SQLITE_DONE ? Status{} : fail(rc, "delete samples");
}

Status SqliteSampleStore::delete_row(uint64_t id, std::vector<Gone>& gone) {
    if (const auto it = taken_.find(id); it != taken_.end()) {
        const std::string& name = meters_[it->second.meter].name;
        Reset reset(delete_taken_);
        sqlite3_bind_int64(delete_taken_, 1, static_cast<sqlite3_int64>(id));
        sqlite3_bind_text(delete_taken_, 2, name.data(), static_cast<int>(name.size()),
                          SQLITE_STATIC);
        const int rc = sqlite3_step(delete_taken_);
        if (rc != SQLITE_DONE)
            return fail(rc, "delete samples");
        if (sqlite3_changes(db_) > 0)
            gone.push_back(Gone{id, it->second.meter, it->second.bytes});
        return {};
    }
    // Not taken, so its meter is not known here: the row says (a scan; the uplink only
    // ever removes samples it took).
    Reset reset(delete_unknown_);
    sqlite3_bind_int64(delete_unknown_, 1, static_cast<sqlite3_int64>(id));
    int rc = sqlite3_step(delete_unknown_);
    if (rc == SQLITE_ROW) {
        const auto meter = index_by_name_.find(column_string(delete_unknown_, 0));
        gone.push_back(Gone{id, meter != index_by_name_.end() ? meter->second : kOrphan,
                            static_cast<uint64_t>(sqlite3_column_int64(delete_unknown_, 1))});
        rc = sqlite3_step(delete_unknown_);
    }
    return rc == SQLITE_DONE ? Status{} : fail(rc, "delete samples");
}

void SqliteSampleStore::forget(const Gone& row) {
    --stats_.samples;
    stats_.bytes -= std::min(stats_.bytes, row.bytes);
    if (taken_.erase(row.id) > 0)
        return;  // was in flight, so not counted as pending
    if (row.meter == kOrphan) {
        if (orphaned_ > 0)
            --orphaned_;
        return;
    }
    LaneState& lane = lane_of(meters_[row.meter], row.id);
    if ((lane.released.erase(row.id) > 0 || row.id > lane.cursor) && lane.pending > 0)
        --lane.pending;
}

void SqliteSampleStore::report_read_error(int rc) {
    const std::string message = fail(rc, "read samples").error().message;
    if (message == last_read_error_)
        return;  // once per distinct failure
    last_read_error_ = message;
    spdlog::error("{}", message);
}

std::vector<StoredSample> SqliteSampleStore::take(size_t meter_index, size_t max, Lane which) {
    std::vector<StoredSample> out;
    if (meter_index >= meters_.size() || max == 0)
        return out;
    MeterState& m = meters_[meter_index];
    LaneState& lane = which == Lane::kLive ? m.live : m.backlog;
    // Released samples are older than anything past the cursor: they go first.
    while (!lane.released.empty() && out.size() < max) {
        const uint64_t id = *lane.released.begin();
        Reset reset(select_one_);
        sqlite3_bind_int64(select_one_, 1, static_cast<sqlite3_int64>(id));
        sqlite3_bind_text(select_one_, 2, m.name.data(), static_cast<int>(m.name.size()),
                          SQLITE_STATIC);
        const int rc = sqlite3_step(select_one_);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
            report_read_error(rc);
            return out;
        }
        lane.released.erase(lane.released.begin());
        if (lane.pending > 0)
            --lane.pending;
        if (rc == SQLITE_DONE)
            continue;  // vanished: nothing to send
        out.push_back(StoredSample{id, meter_index, sqlite3_column_int64(select_one_, 0),
                                   column_string(select_one_, 1)});
        taken_.emplace(id, Taken{meter_index, out.back().json.size()});
    }
    if (out.size() < max) {
        const uint64_t below = which == Lane::kLive
                                   ? static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
                                   : live_from_;
        take_new(meter_index, lane, below, max, out);
    }
    return out;
}

void SqliteSampleStore::take_new(size_t meter_index, LaneState& lane, uint64_t below, size_t max,
                                 std::vector<StoredSample>& out) {
    const std::string& name = meters_[meter_index].name;
    // Rows in flight are skipped: after start_live() rewinds a cursor they are met again.
    while (out.size() < max) {
        const size_t want = max - out.size();
        Reset reset(select_new_);
        sqlite3_bind_text(select_new_, 1, name.data(), static_cast<int>(name.size()),
                          SQLITE_STATIC);
        sqlite3_bind_int64(select_new_, 2, static_cast<sqlite3_int64>(lane.cursor));
        sqlite3_bind_int64(select_new_, 3, static_cast<sqlite3_int64>(want));
        sqlite3_bind_int64(select_new_, 4, static_cast<sqlite3_int64>(below));
        size_t rows = 0;
        int rc = SQLITE_DONE;
        while ((rc = sqlite3_step(select_new_)) == SQLITE_ROW) {
            ++rows;
            const auto id = static_cast<uint64_t>(sqlite3_column_int64(select_new_, 0));
            lane.cursor = id;
            if (taken_.count(id) > 0)
                continue;
            out.push_back(StoredSample{id, meter_index, sqlite3_column_int64(select_new_, 1),
                                       column_string(select_new_, 2)});
            if (lane.pending > 0)
                --lane.pending;
            taken_.emplace(id, Taken{meter_index, out.back().json.size()});
        }
        if (rc != SQLITE_DONE) {
            report_read_error(rc);
            return;
        }
        if (rows < want) {
            lane.pending = lane.released.size();  // nothing left past the cursor
            return;
        }
    }
}

void SqliteSampleStore::start_live() {
    // Nothing is lost by rewinding the backlog: every row not in flight is past cursor 0,
    // and rows in flight are skipped when met. Released sets are covered by the rewind.
    for (MeterState& m : meters_) {
        m.backlog.pending += m.live.pending;
        m.backlog.cursor = 0;
        m.backlog.released.clear();
        m.live = LaneState{0, next_id_ - 1, {}};
    }
    live_from_ = next_id_;
}

void SqliteSampleStore::release(const std::vector<uint64_t>& ids) {
    for (uint64_t id : ids) {
        const auto it = taken_.find(id);
        if (it == taken_.end())
            continue;
        LaneState& lane = lane_of(meters_[it->second.meter], id);
        // Past the cursor (a rewound backlog) the row is simply met again by the next take.
        if (id > lane.cursor || lane.released.insert(id).second)
            ++lane.pending;
        taken_.erase(it);
    }
}

Status SqliteSampleStore::remove(const std::vector<uint64_t>& ids) {
    if (ids.empty())
        return {};
    // A deletion lost to a power cut only means a duplicate later: never wait for fsync.
    if (full_sync_) {
        const int rc = sqlite3_exec(db_, kSynchronous, nullptr, nullptr, nullptr);
        if (rc != SQLITE_OK)
            return fail(rc, "set synchronous");
        full_sync_ = false;
    }
    Status st = exec(begin_, "start a transaction");
    if (!st)
        return st;
    // Meter by meter, in id order: each page of the clustered table is visited once.
    std::vector<std::pair<size_t, uint64_t>> rows;
    rows.reserve(ids.size());
    for (uint64_t id : ids) {
        const auto it = taken_.find(id);
        rows.emplace_back(it == taken_.end() ? kOrphan : it->second.meter, id);
    }
    std::sort(rows.begin(), rows.end());
    std::vector<Gone> gone;
    for (size_t i = 0; st && i < rows.size(); ++i)
        st = delete_row(rows[i].second, gone);
    if (st)
        st = exec(commit_, "commit deletions");
    if (!st) {
        rollback();
        return st;
    }
    for (const Gone& row : gone)
        forget(row);
    return {};
}

bool SqliteSampleStore::has_pending(size_t meter_index, Lane lane) const {
    if (meter_index >= meters_.size())
        return false;
    const MeterState& m = meters_[meter_index];
    return (lane == Lane::kLive ? m.live : m.backlog).pending > 0;
}

StoreStats SqliteSampleStore::stats() const {
    return stats_;
}

size_t SqliteSampleStore::add_meter(const std::string& name) {
    const size_t index = meters_.size();
    meters_.push_back(MeterState{name, {}, {}});
    meters_[index].live.cursor = live_from_ - 1;
    orphan_names_.erase(std::remove(orphan_names_.begin(), orphan_names_.end(), name),
                        orphan_names_.end());
    index_by_name_.emplace(name, index);
    options_.meter_names.push_back(name);
    // Rows of a meter that was removed earlier (or before the last start) wait under its
    // name: they are this meter's again and are delivered.
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db_, "SELECT count(*) FROM samples WHERE meter = ?1", -1, &stmt,
                                nullptr);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(stmt, 1, name.data(), static_cast<int>(name.size()), SQLITE_TRANSIENT);
        rc = sqlite3_step(stmt);
    }
    if (rc == SQLITE_ROW) {
        const auto count = static_cast<uint64_t>(sqlite3_column_int64(stmt, 0));
        meters_[index].backlog.pending = count;  // written before this run: all backlog
        orphaned_ -= std::min(orphaned_, count);
    } else {
        report_read_error(rc);
    }
    sqlite3_finalize(stmt);
    return index;
}

}  // namespace kaa
