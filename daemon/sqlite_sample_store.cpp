// Durable sample store on SQLite in WAL mode.
#include "daemon/sqlite_sample_store.hpp"

#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace kaa {
namespace {

constexpr const char* kComponent = "buffer";
constexpr int64_t kSchemaVersion = 1;
constexpr int kBusyTimeoutMs = 5000;
// WAL + FULL: every commit is fsynced, so an append that returned ok survives a power cut.
constexpr const char* kSynchronous = "PRAGMA synchronous=FULL";
constexpr uint64_t kMinWalPages = 8;
constexpr uint64_t kMaxWalPages = 1000;
constexpr uint64_t kShmBytes = 32 * 1024;
// Record header, cell pointers, rowid and the (meter, id) index entry, per row.
constexpr uint64_t kRowOverhead = 40;

constexpr const char* kSchema =
    "BEGIN IMMEDIATE;"
    "CREATE TABLE IF NOT EXISTS samples(id INTEGER PRIMARY KEY, meter TEXT NOT NULL,"
    " ts INTEGER NOT NULL, json TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS samples_by_meter ON samples(meter, id);"
    "PRAGMA user_version=1;"
    "COMMIT;";

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

std::string directory_of(const std::string& path) {
    const std::string dir = std::filesystem::path(path).parent_path().string();
    return dir.empty() ? "." : dir;
}

/// Plain words for a SQLite failure, using the OS errno where SQLite records it.
std::string cause(int rc, int sys_errno, const std::string& path) {
    static const std::map<int, const char*> kErrnoWords = {{ENOSPC, "disk full"},
                                                           {EDQUOT, "disk quota exceeded"},
                                                           {EFBIG, "file size limit exceeded"},
                                                           {EROFS, "read-only file system"},
                                                           {EACCES, "permission denied"}};
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
    // SQLite keeps errno only for these codes; for the others it is stale.
    const bool has_errno = primary == SQLITE_IOERR || primary == SQLITE_CANTOPEN;
    if (has_errno && kErrnoWords.count(sys_errno) > 0)
        return kErrnoWords.at(sys_errno);
    struct statvfs vfs {};
    if ((primary == SQLITE_READONLY || primary == SQLITE_CANTOPEN) &&
        ::statvfs(directory_of(path).c_str(), &vfs) == 0 && (vfs.f_flag & ST_RDONLY) != 0) {
        return "read-only file system";
    }
    const auto it = kCodeWords.find(primary);
    if (it == kCodeWords.end())
        return sqlite3_errstr(rc);
    if (has_errno && sys_errno != 0) {
        return fmt::format("{}: {}", it->second, std::strerror(sys_errno));
    }
    return it->second;
}

bool is_damage(int rc) {
    return (rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB;
}

/// The database's directory must exist and be writable: it is never created here.
Status check_directory(const std::string& path) {
    const std::string dir = directory_of(path);
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) {
        const int e = errno;
        if (e == ENOENT) {
            return io_error(e,
                            "buffer {}: directory {} does not exist (create it, writable by "
                            "the daemon's user)",
                            path, dir);
        }
        return io_error(e, "buffer {}: cannot use directory {}: {}", path, dir, std::strerror(e));
    }
    if (!S_ISDIR(st.st_mode))
        return io_error(ENOTDIR, "buffer {}: {} is not a directory", path, dir);
    if (::access(dir.c_str(), W_OK | X_OK) != 0) {
        const int e = errno;
        return io_error(e, "buffer {}: directory {} is not writable: {}", path, dir,
                        e == EROFS ? "read-only file system" : std::strerror(e));
    }
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
        return io_error(EISDIR, "buffer {}: is a directory", path);
    }
    return {};
}

/// Renames a damaged database and its -wal/-shm to "<path>.corrupt-<unix time>[-n]".
Result<std::string> move_aside(const std::string& path) {
    const long long now = static_cast<long long>(std::time(nullptr));
    std::string dest = fmt::format("{}.corrupt-{}", path, now);
    for (int n = 2; ::access(dest.c_str(), F_OK) == 0; ++n) {
        dest = fmt::format("{}.corrupt-{}-{}", path, now, n);
    }
    if (::rename(path.c_str(), dest.c_str()) != 0) {
        const int e = errno;
        return io_error(e, "buffer {}: damaged, and cannot move it aside to {}: {}", path, dest,
                        std::strerror(e));
    }
    for (const char* suffix : {"-wal", "-shm"}) {
        const std::string from = path + suffix;
        if (::rename(from.c_str(), (dest + suffix).c_str()) == 0 || errno == ENOENT)
            continue;
        // A stale WAL must never be replayed into the fresh file: delete it instead.
        if (::unlink(from.c_str()) != 0 && errno != ENOENT) {
            const int e = errno;
            return io_error(e, "buffer {}: cannot move or delete {}: {}", path, from,
                            std::strerror(e));
        }
    }
    return dest;
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
        meters_.push_back(MeterState{options_.meter_names[i], 0, 0, {}});
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
    if (auto st = check_directory(options.path); !st)
        return st.error();
    std::unique_ptr<SqliteSampleStore> store(new SqliteSampleStore(options));
    Status st = store->open_database();
    if (!st && is_damage(st.error().code)) {
        store->close_database();
        auto moved = move_aside(options.path);
        if (!moved)
            return moved.error();
        spdlog::error(
            "{}: {}; moved it to {} and started an empty buffer (the samples in the "
            "damaged file will not be delivered)",
            kComponent, st.error().message, moved.value());
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
    const std::pair<std::string, std::string*> setup[] = {{"PRAGMA journal_mode=WAL", &mode},
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
    data_budget_ =
        options_.max_bytes > wal_bytes + kShmBytes ? options_.max_bytes - wal_bytes - kShmBytes : 0;
    for (const std::string& sql : {fmt::format("PRAGMA wal_autocheckpoint={}", wal_pages),
                                   fmt::format("PRAGMA journal_size_limit={}", wal_bytes)}) {
        if (auto st = query(sql, nullptr); !st)
            return st;
    }
    if (schema < kSchemaVersion) {
        const int created = sqlite3_exec(db_, kSchema, nullptr, nullptr, nullptr);
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
         "SELECT id, ts, json FROM samples WHERE meter = ?1 AND id > ?2 ORDER BY id LIMIT ?3"},
        {&select_one_, "SELECT ts, json FROM samples WHERE id = ?1"},
        {&delete_, "DELETE FROM samples WHERE id = ?1 RETURNING meter, length(CAST(json AS BLOB))"},
        {&oldest_, "SELECT id FROM samples ORDER BY id LIMIT ?1"},
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
            meters_[it->second].pending = count;
        } else {
            orphans[name] = count;
            orphaned_ += count;
        }
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE)
        return fail(rc, "count the waiting samples");
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
    for (sqlite3_stmt** stmt : {&begin_, &commit_, &insert_, &select_new_, &select_one_, &delete_,
                                &oldest_, &page_count_, &freelist_count_}) {
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
    if (auto st = exec(begin_, "start a transaction"); !st)
        return st;
    std::vector<Gone> gone;
    size_t accepted = samples.size();
    Status st;
    if (used_bytes_ + incoming > data_budget_) {
        uint64_t used = used_bytes_;
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
    }
    for (size_t i = 0; st && i < accepted; ++i)
        st = insert(samples[i], next_id_ + i);
    if (st)
        st = exec(commit_, "commit samples");
    if (!st) {
        rollback();
        return st;
    }
    for (const Gone& row : gone)
        forget(row);
    stats_.dropped_overflow += gone.size() + (samples.size() - accepted);
    for (size_t i = 0; i < accepted; ++i) {
        ++meters_[samples[i].meter_index].pending;
        ++stats_.samples;
        stats_.bytes += samples[i].json.size();
    }
    next_id_ += accepted;
    if (!measure(used_bytes_))
        used_bytes_ += incoming;
    return {};
}

Status SqliteSampleStore::drop_oldest(size_t count, std::vector<Gone>& gone) {
    std::vector<uint64_t> ids;
    {
        Reset reset(oldest_);
        sqlite3_bind_int64(oldest_, 1, static_cast<sqlite3_int64>(count + taken_.size()));
        int rc = SQLITE_DONE;
        while (ids.size() < count && (rc = sqlite3_step(oldest_)) == SQLITE_ROW) {
            const auto id = static_cast<uint64_t>(sqlite3_column_int64(oldest_, 0));
            if (taken_.count(id) == 0)
                ids.push_back(id);  // never drop samples in flight
        }
        if (ids.size() < count && rc != SQLITE_DONE)
            return fail(rc, "find the oldest samples");
    }
    for (uint64_t id : ids) {
        if (auto st = delete_row(id, gone); !st)
            return st;
    }
    return {};
}

Status SqliteSampleStore::delete_row(uint64_t id, std::vector<Gone>& gone) {
    Reset reset(delete_);
    sqlite3_bind_int64(delete_, 1, static_cast<sqlite3_int64>(id));
    int rc = sqlite3_step(delete_);
    if (rc == SQLITE_ROW) {
        gone.push_back(Gone{id, column_string(delete_, 0),
                            static_cast<uint64_t>(sqlite3_column_int64(delete_, 1))});
        rc = sqlite3_step(delete_);
    }
    return rc == SQLITE_DONE ? Status{} : fail(rc, "delete samples");
}

void SqliteSampleStore::forget(const Gone& row) {
    --stats_.samples;
    stats_.bytes -= std::min(stats_.bytes, row.bytes);
    if (taken_.erase(row.id) > 0)
        return;  // was in flight, so not counted as pending
    const auto it = index_by_name_.find(row.meter);
    if (it == index_by_name_.end()) {
        if (orphaned_ > 0)
            --orphaned_;
        return;
    }
    MeterState& m = meters_[it->second];
    if ((m.released.erase(row.id) > 0 || row.id > m.cursor) && m.pending > 0)
        --m.pending;
}

void SqliteSampleStore::report_read_error(int rc) {
    const std::string message = fail(rc, "read samples").error().message;
    if (message == last_read_error_)
        return;  // once per distinct failure
    last_read_error_ = message;
    spdlog::error("{}: {}", kComponent, message);
}

std::vector<StoredSample> SqliteSampleStore::take(size_t meter_index, size_t max) {
    std::vector<StoredSample> out;
    if (meter_index >= meters_.size() || max == 0)
        return out;
    MeterState& m = meters_[meter_index];
    // Released samples are older than anything past the cursor: they go first.
    while (!m.released.empty() && out.size() < max) {
        const uint64_t id = *m.released.begin();
        Reset reset(select_one_);
        sqlite3_bind_int64(select_one_, 1, static_cast<sqlite3_int64>(id));
        const int rc = sqlite3_step(select_one_);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
            report_read_error(rc);
            return out;
        }
        m.released.erase(m.released.begin());
        if (m.pending > 0)
            --m.pending;
        if (rc == SQLITE_DONE)
            continue;  // vanished: nothing to send
        out.push_back(StoredSample{id, meter_index, sqlite3_column_int64(select_one_, 0),
                                   column_string(select_one_, 1)});
        taken_.emplace(id, meter_index);
    }
    if (out.size() == max)
        return out;
    const size_t want = max - out.size();
    Reset reset(select_new_);
    sqlite3_bind_text(select_new_, 1, m.name.data(), static_cast<int>(m.name.size()),
                      SQLITE_STATIC);
    sqlite3_bind_int64(select_new_, 2, static_cast<sqlite3_int64>(m.cursor));
    sqlite3_bind_int64(select_new_, 3, static_cast<sqlite3_int64>(want));
    size_t got = 0;
    int rc = SQLITE_DONE;
    while ((rc = sqlite3_step(select_new_)) == SQLITE_ROW) {
        const auto id = static_cast<uint64_t>(sqlite3_column_int64(select_new_, 0));
        out.push_back(StoredSample{id, meter_index, sqlite3_column_int64(select_new_, 1),
                                   column_string(select_new_, 2)});
        m.cursor = id;
        if (m.pending > 0)
            --m.pending;
        taken_.emplace(id, meter_index);
        ++got;
    }
    if (rc != SQLITE_DONE) {
        report_read_error(rc);
    } else if (got < want) {
        m.pending = m.released.size();  // nothing left past the cursor
    }
    return out;
}

void SqliteSampleStore::release(const std::vector<uint64_t>& ids) {
    for (uint64_t id : ids) {
        const auto it = taken_.find(id);
        if (it == taken_.end())
            continue;
        MeterState& m = meters_[it->second];
        if (m.released.insert(id).second)
            ++m.pending;
        taken_.erase(it);
    }
}

Status SqliteSampleStore::remove(const std::vector<uint64_t>& ids) {
    if (ids.empty())
        return {};
    Status st = exec(begin_, "start a transaction");
    if (!st)
        return st;
    std::vector<Gone> gone;
    for (size_t i = 0; st && i < ids.size(); ++i)
        st = delete_row(ids[i], gone);
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

bool SqliteSampleStore::has_pending(size_t meter_index) const {
    return meter_index < meters_.size() && meters_[meter_index].pending > 0;
}

StoreStats SqliteSampleStore::stats() const {
    return stats_;
}

}  // namespace kaa
