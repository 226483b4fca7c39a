#pragma once
// SqliteStoreCore: the durable store's working parts behind SqliteSampleStore (the facade in
// sqlite_sample_store.hpp). Only the SQLite layer's .cpp files include this header.
//
// The durable SampleStore, one SQLite database in WAL mode. Samples survive
// kill -9; appends are fsynced at least every 100 ms (each one at poll-round rates), so a
// power cut loses at most the last 100 ms and never corrupts the file. Only this class (and
// the composition root) knows SQLite.
//
// A delivered batch that was taken as one run of a meter's
// rows is not deleted row by row while Kaa waits for more: one row in `delivered` records the
// run (durably, so a restart does not send it again) and compact() deletes its rows later,
// when the uplink is not draining a backlog. Other delivered samples are deleted at once.
//
// On-disk bound: the live pages, (page_count - freelist_count) * page_size, plus a WAL
// allowance stay within max_bytes; delivered rows are deleted first when it is reached. The
// WAL is checkpointed every `allowance / 2` bytes and truncated back to the allowance
// afterwards, so a poll round larger than half the allowance can push the WAL over it until
// the next checkpoint.
//
// Integrity: a full quick_check runs at open unless the file was closed cleanly by this
// class (a flag in table `state`, cleared while the file is open, set again at a clean
// close unless SQLite reported damage meanwhile).

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "daemon/buffer/ledger.hpp"
#include "daemon/buffer/sample_store.hpp"
#include "daemon/buffer/sqlite/meter_tables.hpp"
#include "daemon/buffer/sqlite/sqlite_sample_store.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace kaa {

/// SampleStore in a SQLite file: one transaction per append/remove; the Ledger keeps lanes
/// and samples in flight.
class SqliteStoreCore {
  public:
    /// Opens (or creates) the buffer; a damaged file is moved aside and a fresh one started.
    static Result<std::unique_ptr<SqliteStoreCore>> open(const SqliteStoreOptions& options);
    ~SqliteStoreCore();
    SqliteStoreCore(const SqliteStoreCore&) = delete;
    SqliteStoreCore& operator=(const SqliteStoreCore&) = delete;

    /// Writes samples in transactions of at most max_transaction_bytes_ each; disk errors
    /// come back as a Status, with `stored` the samples of the transactions committed.
    Status append(const std::vector<BufferedSample>& samples, size_t& stored);
    /// Returns the meter's oldest samples in `lane` that are not taken, and marks them taken.
    std::vector<StoredSample> take(size_t meter_index, size_t max, Lane lane);
    /// Everything waiting becomes backlog; what is appended from now on is live.
    void start_live();
    /// Makes taken samples pending again; unknown ids are ignored.
    void release(const std::vector<uint64_t>& ids);
    /// Samples delivered or rejected for good, in one transaction: a whole run is recorded
    /// as delivered (its rows deleted by compact()), anything else deleted now.
    Status remove(const std::vector<uint64_t>& ids);
    /// True when the meter has samples in `lane` that are not taken (no database access).
    bool has_pending(size_t meter_index, Lane lane) const;
    /// Samples and payload bytes waiting (orphans included) and overflow drops.
    StoreStats stats() const;
    /// The read time of the oldest waiting sample of a configured meter (one lookup a meter).
    std::optional<int64_t> oldest_read_ms();
    /// Adds a meter; its rows left from an earlier configuration are no longer orphans.
    size_t add_meter(const std::string& name);
    /// Adds `offset_ms` to the read time of every row appended since the store opened.
    Status shift_read_times(int64_t offset_ms);
    /// Deletes the rows of delivered runs, oldest run first, about `max_rows` at most.
    bool compact(size_t max_rows);
    /// Samples of meters no longer in the configuration: kept, not delivered.
    uint64_t orphaned_samples() const { return orphaned_; }
    /// Rows of delivered samples not deleted yet (compact() deletes them).
    uint64_t delivered_rows() const { return delivered_rows_; }
    /// True when open() ran the full integrity check (the last close was not clean).
    bool checked_at_open() const { return checked_at_open_; }
    /// When the file at the path is gone or another one, writes the open buffer to a new
    /// file there and continues on it (store_file_watch.cpp).
    Status check_file();
    /// When the appends committed without an fsync since the last FULL commit become due
    /// for one (kSyncInterval after it); nullopt when there are none.
    std::optional<std::chrono::steady_clock::time_point> sync_due() const;
    /// fsyncs the write-ahead log: every commit so far becomes durable.
    Status sync();
    /// True once after a write failed because the disk (or the file system) is full.
    bool take_disk_full() { return std::exchange(disk_full_seen_, false); }
    /// Bytes of free pages inside the file: room for new rows without growing it.
    uint64_t free_bytes();
    /// Copies the write-ahead log into the file and starts it again from its beginning, so
    /// that the next writes reuse its room instead of growing it (on a full disk).
    void restart_wal();

  private:
    /// A meter of the configuration: its name and where its rows are.
    struct MeterState {
        std::string name;
        MeterTable* table = nullptr;
    };
    /// The ledger's view of the rows: reads by id and in id order, stepping over delivered
    /// runs not deleted yet.
    class Rows final : public RowSource {
      public:
        explicit Rows(SqliteStoreCore& core) : core_(core) {}
        Found read(size_t meter, uint64_t id, StoredSample& out) override;
        bool read_after(size_t meter, uint64_t after, uint64_t below, size_t max,
                        std::vector<StoredSample>& out) override;
        std::optional<IdRange> next_skipped(size_t meter, uint64_t after) const override;

      private:
        SqliteStoreCore& core_;
    };
    using Run = Ledger::Run;
    /// A row deleted inside a transaction, applied to the bookkeeping after COMMIT.
    struct Gone {
        uint64_t id;
        size_t meter;  // kOrphan: a meter not in the configuration
        uint64_t bytes;
    };
    /// Rows of `meter` with ids first..last: delivered, deleted by compact().
    struct DeliveredRun {
        std::string meter;
        uint64_t first;
        uint64_t last;
    };
    static constexpr size_t kOrphan = static_cast<size_t>(-1);

    explicit SqliteStoreCore(const SqliteStoreOptions& options);
    // Opening (store_open.cpp).
    Status open_database();
    Status check_integrity(int64_t schema);
    Status query(const std::string& sql, std::string* out);
    Status prepare_statements();
    Status load_counts();
    Status load_delivered(std::map<std::string, std::pair<uint64_t, uint64_t>>& delivered);
    void close_database();
    Status exec(sqlite3_stmt* stmt, const char* what);
    Status fail(int rc, const char* what);
    void rollback();
    void report_read_error(int rc);
    // Writing and the bound (store_append.cpp).
    Status measure(uint64_t& used_bytes);
    /// One transaction of append(): the samples [begin, end), `incoming` bytes of rows.
    Status append_transaction(const std::vector<BufferedSample>& samples, size_t begin, size_t end,
                              uint64_t incoming);
    /// Before an append's transaction: deletes delivered rows while the file is over half full.
    void make_room_for_append(uint64_t incoming);
    /// Inside an append's transaction: deletes delivered rows, then (drop-oldest) the oldest
    /// waiting ones, until `incoming` more bytes fit or nothing more may go.
    Status make_room(uint64_t incoming, uint64_t& used, std::vector<Gone>& gone, size_t& runs,
                     uint64_t& rows);
    /// Inside an append's transaction: drops (policy) or refuses rows until the measured
    /// size fits the budget; `accepted` shrinks by the refused rows of this round.
    Status shrink_to_budget(const std::vector<BufferedSample>& samples, size_t begin,
                            size_t& accepted, std::vector<Gone>& gone, uint64_t& used, size_t& runs,
                            uint64_t& rows);
    Status drop_oldest(size_t count, std::vector<Gone>& gone);
    /// Deletes a waiting row of a known meter (`meter` is kOrphan for an orphan's).
    Status delete_waiting(uint64_t id, size_t meter, MeterTable& table, std::vector<Gone>& gone);
    Status insert(const BufferedSample& sample, uint64_t id);
    void forget(const Gone& row);
    uint64_t row_cost(const BufferedSample& sample) const;
    // Taking and delivering (store_delivery.cpp, store_rows.cpp).
    /// Deletes a row by id: in flight (its meter is known) or, slowly, any other.
    Status delete_row(uint64_t id, std::vector<Gone>& gone);
    /// Records a confirmed clean run as delivered (inside a transaction).
    Status record_delivered(size_t meter, const Run& run);
    /// Inside a transaction: deletes the rows of delivered runs to_compact_[runs..], until
    /// about `max_rows` rows are gone; `runs` and `rows` grow by what was done.
    Status compact_runs(size_t max_rows, size_t& runs, uint64_t& rows);
    /// After the COMMIT: forgets the first `runs` delivered runs, `rows` rows in all.
    void compacted(size_t runs, uint64_t rows);
    /// True when `id` of `meter` lies in a delivered run not deleted yet.
    bool in_delivered_run(const std::string& meter, uint64_t id) const;

    /// Notes the device and inode of the file just opened (store_file_watch.cpp).
    void remember_file();

    SqliteStoreOptions options_;
    sqlite3* db_ = nullptr;
    uint64_t file_dev_ = 0;  // the file opened, to notice it deleted or replaced
    uint64_t file_ino_ = 0;
    sqlite3_stmt* begin_ = nullptr;
    sqlite3_stmt* commit_ = nullptr;
    sqlite3_stmt* page_count_ = nullptr;
    sqlite3_stmt* freelist_count_ = nullptr;
    sqlite3_stmt* insert_delivered_ = nullptr;
    sqlite3_stmt* forget_delivered_ = nullptr;
    std::unique_ptr<MeterTables> tables_;

    std::vector<MeterState> meters_;
    std::unordered_map<std::string, size_t> index_by_name_;
    std::vector<std::string> orphan_names_;  // meters in the file but not in the config
    Ledger ledger_;  // lanes, cursors, released and in-flight samples, runs taken
    Rows rows_{*this};
    // Delivered runs not deleted yet: by meter, first id -> last id; and in delivery order.
    std::unordered_map<std::string, std::map<uint64_t, uint64_t>> delivered_by_meter_;
    std::deque<DeliveredRun> to_compact_;
    uint64_t delivered_rows_ = 0;
    uint64_t page_size_ = 4096;
    uint64_t data_budget_ = 0;  // max_bytes minus the WAL allowance
    // Row bytes one append transaction writes at most: half a checkpoint interval, so that
    // a burst (the rounds of a stalled loop, the samples that waited in memory) never
    // swells the WAL past its allowance.
    uint64_t max_transaction_bytes_ = 0;
    uint64_t used_bytes_ = 0;  // live pages after the last commit
    uint64_t orphaned_ = 0;
    uint64_t first_id_of_run_ = 1;  // ids from here on were appended since the store opened
    std::chrono::steady_clock::time_point last_sync_{};  // last FULL (fsynced) commit
    bool full_sync_ = false;                             // synchronous=FULL is set now
    bool unsynced_appends_ = false;  // appends committed since last_sync_ without an fsync
    bool checked_at_open_ = false;
    bool created_at_open_ = false;  // a new, empty file: nothing to check
    bool refusing_ = false;         // drop-newest: refusing new samples until rows leave
    bool close_cleanly_ = false;    // open succeeded and SQLite has reported no damage since
    bool disk_full_seen_ = false;   // a write failed for want of room (take_disk_full())
    StoreStats stats_;
    std::string last_read_error_;  // logged once until the failure changes
};

}  // namespace kaa
