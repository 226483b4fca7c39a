#pragma once
// SqliteSampleStore: the durable SampleStore, one SQLite database in WAL mode (the working
// parts are in store_core.hpp). Samples survive kill -9 and a power cut loses at most the
// last 100 ms; the file stays within its size budget; delivered runs are recorded at once
// and deleted later by compact(). A full disk is survived: a reserve file beside the buffer
// is given back so that delivered samples can still be deleted, appends are refused (the
// caller keeps those samples in memory) until the disk has room again, and the reserve is
// taken again then. Nothing of SQLite shows through this header.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/result.hpp"
#include "daemon/buffer/disk_reserve.hpp"
#include "daemon/buffer/sample_store.hpp"

namespace kaa {

/// Where the buffer lives, which meters it serves, and how large it may grow.
struct SqliteStoreOptions {
    std::string path;                      // database file; its directory must exist
    std::vector<std::string> meter_names;  // index = meter_index; rows are keyed by name
    uint64_t max_bytes = 256ull * 1024 * 1024;
    config::Overflow overflow = config::Overflow::kDropOldest;
};

class SqliteStoreCore;

/// SampleStore in a SQLite file: one transaction per append/remove, taken ids in memory.
class SqliteSampleStore final : public SampleStore {
  public:
    /// Opens (or creates) the buffer; a damaged file is moved aside and a fresh one started.
    static Result<std::unique_ptr<SqliteSampleStore>> open(const SqliteStoreOptions& options);
    ~SqliteSampleStore() override;
    SqliteSampleStore(const SqliteSampleStore&) = delete;
    SqliteSampleStore& operator=(const SqliteSampleStore&) = delete;

    /// Writes one poll round in one transaction; disk errors come back as a Status. While
    /// the disk is full every append is refused at once, without touching the file.
    using SampleStore::append;
    Status append(const std::vector<BufferedSample>& samples, size_t& stored) override;
    using SampleStore::has_pending;
    using SampleStore::take;
    /// Returns the meter's oldest samples in `lane` that are not taken, and marks them taken.
    std::vector<StoredSample> take(size_t meter_index, size_t max, Lane lane) override;
    /// Everything waiting becomes backlog; what is appended from now on is live.
    void start_live() override;
    /// Makes taken samples pending again; unknown ids are ignored.
    void release(const std::vector<uint64_t>& ids) override;
    /// Samples delivered or rejected for good, in one transaction: a whole run is recorded
    /// as delivered (its rows deleted by compact()), anything else deleted now.
    Status remove(const std::vector<uint64_t>& ids) override;
    /// True when the meter has samples in `lane` that are not taken (no database access).
    bool has_pending(size_t meter_index, Lane lane) const override;
    /// Samples and payload bytes waiting (orphans included) and overflow drops.
    StoreStats stats() const override;
    std::optional<int64_t> oldest_read_ms() override;
    /// Adds a meter; its rows left from an earlier configuration are no longer orphans.
    size_t add_meter(const std::string& name) override;
    /// One UPDATE of the rows with ids from the first this run appended.
    Status shift_read_times(int64_t offset_ms) override;
    /// Deletes the rows of delivered runs, oldest run first, about `max_rows` at most.
    bool compact(size_t max_rows) override;
    /// The buffer file deleted or replaced while running is written again (nothing lost);
    /// after a full disk, appends are accepted again once there is room.
    Status check_file() override;
    std::optional<std::chrono::steady_clock::time_point> sync_due() const override;
    Status sync() override;
    /// True while appends are refused because the disk is full.
    bool disk_full() const { return disk_full_; }
    /// Samples of meters no longer in the configuration: kept, not delivered.
    uint64_t orphaned_samples() const;
    /// Rows of delivered samples not deleted yet (compact() deletes them).
    uint64_t delivered_rows() const;
    /// True when open() ran the full integrity check (the last close was not clean).
    bool checked_at_open() const;

  private:
    SqliteSampleStore(std::unique_ptr<SqliteStoreCore> core, std::string path, DiskReserve reserve);
    /// A write failed for want of room: refuse appends, and give the reserve back.
    void enter_disk_full();
    /// Accepts appends again when the reserve could be taken again, or the file has room.
    void leave_disk_full_if_room();

    std::unique_ptr<SqliteStoreCore> core_;
    std::string path_;
    DiskReserve reserve_;
    bool disk_full_ = false;
};

}  // namespace kaa
