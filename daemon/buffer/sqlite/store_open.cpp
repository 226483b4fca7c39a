// Durable sample store on SQLite in WAL mode: opening, checking and closing the file.
#include "daemon/buffer/sqlite/store_core.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <map>
#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "daemon/buffer/buffer_file.hpp"
#include "daemon/buffer/sqlite/migration.hpp"
#include "daemon/buffer/sqlite/settings.hpp"
#include "daemon/buffer/sqlite/support.hpp"

namespace kaa {
namespace {

using namespace sqlite_support;  // NOLINT(google-build-using-namespace): this file's helpers
using namespace sqlite_store;    // NOLINT(google-build-using-namespace)

constexpr int kBusyTimeoutMs = 5000;
// Checkpoint interval: 1/16 of max_bytes, between 8 pages and 4000 (16 MiB; 4x SQLite's
// default, +15-30% inserts/s on the target disk, at most ~0.2 s per checkpoint there).
constexpr uint64_t kMinWalPages = 8;
constexpr uint64_t kMaxWalPages = 4000;
constexpr uint64_t kShmBytes = 32 * 1024;
// Pages kept out of the budget: the partly filled last leaves and balancing temporaries.
constexpr uint64_t kSlackPages = 4;

constexpr const char* kMarkOpen = "INSERT OR REPLACE INTO state(key, value) VALUES('clean', 0)";
constexpr const char* kMarkClean = "INSERT OR REPLACE INTO state(key, value) VALUES('clean', 1)";

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

}  // namespace

SqliteStoreCore::SqliteStoreCore(const SqliteStoreOptions& options)
    : options_(options), ledger_(options.meter_names.size()) {
    for (size_t i = 0; i < options_.meter_names.size(); ++i) {
        meters_.push_back(MeterState{options_.meter_names[i], nullptr});
        index_by_name_.emplace(options_.meter_names[i], i);
    }
}

SqliteStoreCore::~SqliteStoreCore() {
    if (close_cleanly_ && db_ != nullptr)
        sqlite3_exec(db_, kMarkClean, nullptr, nullptr, nullptr);
    close_database();
}

Result<std::unique_ptr<SqliteStoreCore>> SqliteStoreCore::open(const SqliteStoreOptions& options) {
    const std::set<std::string> unique(options.meter_names.begin(), options.meter_names.end());
    if (options.path.empty() || unique.size() != options.meter_names.size()) {
        return make_error(ErrorKind::kInvalidArgument,
                          "buffer: the path is empty or the meter names are not unique");
    }
    if (auto st = buffer_file::check_writable(options.path); !st)
        return st.error();
    std::unique_ptr<SqliteStoreCore> store(new SqliteStoreCore(options));
    Status st = store->open_database();
    if (st)
        st = store->load_counts();
    if (!st && is_damage(st.error().code)) {
        store->close_database();
        auto moved = buffer_file::move_aside(options.path, std::time(nullptr));
        if (!moved)
            return moved.error();
        spdlog::error(
            "{}; moved it to {} and started an empty buffer (the samples in the "
            "damaged file will not be delivered)",
            st.error().message, moved.value());
        store.reset(new SqliteStoreCore(options));
        st = store->open_database();
        if (st)
            st = store->load_counts();
    }
    if (!st)
        return st.error();
    if (auto marked = store->query(kMarkOpen, nullptr); !marked)
        return marked.error();
    store->close_cleanly_ = true;
    spdlog::info("{}: {} {}: {} samples ({} payload bytes) waiting, {} of {} bytes used",
                 kComponent, options.path,
                 store->created_at_open_   ? "created"
                 : store->checked_at_open_ ? "opened and checked (it was not closed cleanly)"
                                           : "opened",
                 store->stats_.samples, store->stats_.bytes, store->used_bytes_, options.max_bytes);
    return Result<std::unique_ptr<SqliteStoreCore>>(std::move(store));
}

Status SqliteStoreCore::fail(int rc, const char* what) {
    const int sys_errno = db_ != nullptr ? sqlite3_system_errno(db_) : 0;
    const char* detail = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    if (is_damage(rc))
        close_cleanly_ = false;  // the next open runs the full check
    // SQLite reports most ENOSPC as SQLITE_FULL, some (the WAL index) as an I/O error.
    if ((rc & 0xff) == SQLITE_FULL || ((rc & 0xff) == SQLITE_IOERR && sys_errno == ENOSPC)) {
        disk_full_seen_ = true;
        rc = SQLITE_FULL;
    }
    return io_error(rc, "buffer {}: cannot {}: {} ({})", options_.path, what,
                    cause(rc, sys_errno, options_.path), detail);
}

Status SqliteStoreCore::query(const std::string& sql, std::string* out) {
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

Status SqliteStoreCore::open_database() {
    const int rc =
        sqlite3_open_v2(options_.path.c_str(), &db_,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK)
        return fail(rc, "open the database");
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, kBusyTimeoutMs);
    remember_file();
    if (sqlite3_db_readonly(db_, "main") == 1)
        return fail(SQLITE_READONLY, "open for writing");
    std::string mode, page_size, version;
    // secure_delete is on in Debian's build: it zeroes every deleted row, doubling drain I/O.
    const std::pair<std::string, std::string*> setup[] = {{"PRAGMA journal_mode=WAL", &mode},
                                                          {"PRAGMA secure_delete=OFF", nullptr},
                                                          {kSynchronous, nullptr},
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
    const int64_t schema = std::strtoll(version.c_str(), nullptr, 10);
    if (schema > kSchemaVersion) {
        return io_error(0,
                        "buffer {}: written by a newer kaa-gateway (schema {}, this one "
                        "knows {}); upgrade, or move the file away",
                        options_.path, schema, kSchemaVersion);
    }
    if (auto st = check_integrity(schema); !st)
        return st;
    page_size_ = std::max<uint64_t>(512, std::strtoull(page_size.c_str(), nullptr, 10));
    // Checkpoint every half allowance; truncate the WAL back to the allowance afterwards.
    const uint64_t wal_pages =
        std::clamp(options_.max_bytes / 16 / page_size_, kMinWalPages, kMaxWalPages);
    // The WAL holds up to a checkpoint's worth plus one transaction, which touches about two
    // pages per meter table (its tail, and its head when the oldest are dropped) and a few
    // more (B-tree interiors, the free list).
    const uint64_t transaction_pages = 2 * (options_.meter_names.size() + 4);
    const uint64_t wal_bytes = 32 + (2 * wal_pages + transaction_pages) * (page_size_ + 24);
    const uint64_t reserved = wal_bytes + kShmBytes + kSlackPages * page_size_;
    data_budget_ = options_.max_bytes > reserved ? options_.max_bytes - reserved : 0;
    max_transaction_bytes_ = std::max<uint64_t>(page_size_, wal_pages * page_size_ / 2);
    // Debian's SQLite overwrites deleted rows with zeros (SECURE_DELETE): every page a
    // dropped or delivered row leaves would be written into the WAL once more. FAST zeroes
    // only what is written anyway; the rows are readings, not secrets, and the file is the
    // service user's alone.
    for (const std::string& sql : {fmt::format("PRAGMA wal_autocheckpoint={}", wal_pages),
                                   fmt::format("PRAGMA journal_size_limit={}", wal_bytes),
                                   std::string("PRAGMA secure_delete=FAST")}) {
        if (auto st = query(sql, nullptr); !st)
            return st;
    }
    const MeterTables::Fail fail_here = [this](int code, const char* what) {
        return fail(code, what);
    };
    tables_ = std::make_unique<MeterTables>(db_, fail_here);
    if (schema < kSchemaVersion) {
        if (auto st = migrate(db_, schema, *tables_, fail_here); !st) {
            rollback();
            return st;
        }
    }
    if (auto st = tables_->load(); !st)
        return st;
    for (MeterState& m : meters_) {
        auto table = tables_->ensure(m.name);
        if (!table)
            return table.error();
        m.table = table.value();
    }
    return prepare_statements();
}

Status SqliteStoreCore::check_integrity(int64_t schema) {
    // A file this class closed cleanly was complete then: the full check (which reads every
    // page) runs only after a kill, a power cut, a crash or damage seen while running.
    // Schema 0 is a file SQLite has just created (or an empty one): nothing to check.
    if (schema == 0) {
        created_at_open_ = true;
        return {};
    }
    if (schema >= 2) {
        std::string clean;
        if (auto st = query("SELECT value FROM state WHERE key = 'clean'", &clean); !st)
            return st;
        if (clean == "1")
            return {};
    }
    std::string check;
    if (auto st = query("PRAGMA quick_check(1)", &check); !st)
        return st;
    checked_at_open_ = true;
    if (check != "ok") {
        std::replace(check.begin(), check.end(), '\n', ' ');
        return io_error(SQLITE_CORRUPT, "buffer {}: the file is damaged (integrity check: {})",
                        options_.path, check);
    }
    return {};
}

Status SqliteStoreCore::prepare_statements() {
    const std::pair<sqlite3_stmt**, const char*> all[] = {
        {&begin_, "BEGIN IMMEDIATE"},
        {&commit_, "COMMIT"},
        {&page_count_, "PRAGMA page_count"},
        {&freelist_count_, "PRAGMA freelist_count"},
        {&insert_delivered_,
         "INSERT OR REPLACE INTO delivered(meter, first_id, last_id, samples, bytes)"
         " VALUES(?1, ?2, ?3, ?4, ?5)"},
        {&forget_delivered_, "DELETE FROM delivered WHERE meter = ?1 AND first_id = ?2"},
    };
    for (const auto& [stmt, sql] : all) {
        const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, nullptr);
        if (rc != SQLITE_OK)
            return fail(rc, "prepare statements (not a kaa-gateway buffer?)");
    }
    return {};
}

Status SqliteStoreCore::load_delivered(
    std::map<std::string, std::pair<uint64_t, uint64_t>>& delivered) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(
        db_, "SELECT meter, first_id, last_id, samples, bytes FROM delivered ORDER BY first_id", -1,
        &stmt, nullptr);
    while (rc == SQLITE_OK || rc == SQLITE_ROW) {
        rc = sqlite3_step(stmt);
        if (rc != SQLITE_ROW)
            break;
        DeliveredRun run{column_string(stmt, 0), column_u64(stmt, 1), column_u64(stmt, 2)};
        auto& [samples, bytes] = delivered[run.meter];
        samples += column_u64(stmt, 3);
        bytes += column_u64(stmt, 4);
        delivered_rows_ += column_u64(stmt, 3);
        delivered_by_meter_[run.meter][run.first] = run.last;
        to_compact_.push_back(std::move(run));
    }
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE ? Status{} : fail(rc, "read the delivered runs");
}

Status SqliteStoreCore::load_counts() {
    std::map<std::string, std::pair<uint64_t, uint64_t>> delivered;
    if (auto st = load_delivered(delivered); !st)
        return st;
    std::map<std::string, uint64_t> orphans;
    uint64_t next_id = 1;
    for (const auto& [name, table] : tables_->all()) {
        sqlite3_stmt* stmt = nullptr;
        int rc = sqlite3_prepare_v2(db_,
                                    "SELECT count(*), max(key), sum(length(CAST(record AS BLOB))) "
                                    "FROM samples WHERE key BETWEEN ?1 AND ?2",
                                    -1, &stmt, nullptr);
        if (rc == SQLITE_OK) {
            bind_id(stmt, 1, table->base);
            bind_id(stmt, 2, table->key(MeterTable::kMaxId));
            rc = sqlite3_step(stmt);
        }
        if (rc != SQLITE_ROW) {
            sqlite3_finalize(stmt);
            return fail(rc, "count the waiting samples");
        }
        const auto& [done, done_bytes] = delivered[name];
        const uint64_t rows = column_u64(stmt, 0);
        const uint64_t count = rows - std::min(done, rows);
        stats_.samples += count;
        stats_.bytes += column_u64(stmt, 2) - std::min(done_bytes, column_u64(stmt, 2));
        if (rows > 0)
            next_id = std::max(next_id, table->id_of(column_u64(stmt, 1)) + 1);
        sqlite3_finalize(stmt);
        const auto it = index_by_name_.find(name);
        if (it != index_by_name_.end()) {
            ledger_.set_backlog(it->second, count);
        } else if (count > 0) {
            orphans[name] = count;
            orphaned_ += count;
            orphan_names_.push_back(name);
        }
    }
    ledger_.restore(next_id);  // what is on disk is backlog
    first_id_of_run_ = next_id;
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

void SqliteStoreCore::close_database() {
    for (sqlite3_stmt** stmt : {&begin_, &commit_, &page_count_, &freelist_count_,
                                &insert_delivered_, &forget_delivered_}) {
        sqlite3_finalize(*stmt);
        *stmt = nullptr;
    }
    for (MeterState& m : meters_)
        m.table = nullptr;
    tables_.reset();
    sqlite3_close(db_);
    db_ = nullptr;
}

Status SqliteStoreCore::exec(sqlite3_stmt* stmt, const char* what) {
    Reset reset(stmt);
    const int rc = sqlite3_step(stmt);
    return rc == SQLITE_DONE ? Status{} : fail(rc, what);
}

void SqliteStoreCore::rollback() {
    if (sqlite3_get_autocommit(db_) != 0)
        return;  // none open, or SQLite rolled back already
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

void SqliteStoreCore::report_read_error(int rc) {
    const std::string message = fail(rc, "read samples").error().message;
    if (message == last_read_error_)
        return;  // once per distinct failure
    last_read_error_ = message;
    spdlog::error("{}", message);
}

bool SqliteStoreCore::has_pending(size_t meter_index, Lane lane) const {
    return ledger_.has_pending(meter_index, lane);
}

StoreStats SqliteStoreCore::stats() const {
    return stats_;
}

size_t SqliteStoreCore::add_meter(const std::string& name) {
    const size_t index = ledger_.add_meter();
    meters_.push_back(MeterState{name, nullptr});
    MeterState& m = meters_[index];
    index_by_name_.emplace(name, index);
    options_.meter_names.push_back(name);
    orphan_names_.erase(std::remove(orphan_names_.begin(), orphan_names_.end(), name),
                        orphan_names_.end());
    auto table = tables_->ensure(name);
    if (!table) {
        report_read_error(table.error().code);
        return index;  // its samples cannot be stored: append() reports that
    }
    m.table = table.value();
    // Rows of a meter that was removed earlier (or before the last start) wait in its table:
    // they are this meter's again and are delivered. (A meter removed by a reload keeps its
    // index, so these rows were all written before this run: backlog.) Delivered rows not
    // deleted yet are counted too: too many pending only costs a take() that finds nothing.
    std::string rows;
    const std::string count_sql =
        fmt::format("SELECT count(*) FROM samples WHERE key BETWEEN {} AND {}", m.table->base,
                    m.table->key(MeterTable::kMaxId));
    if (auto st = query(count_sql, &rows); st) {
        const uint64_t count = std::strtoull(rows.c_str(), nullptr, 10);
        ledger_.set_backlog(index, count);
        orphaned_ -= std::min(orphaned_, count);
    }
    return index;
}

}  // namespace kaa
