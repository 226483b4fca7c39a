// The durable store's facade: every call goes to its SqliteStoreCore; a full disk is
// handled here (the reserve given back, appends refused until there is room again).
#include "daemon/buffer/sqlite/sqlite_sample_store.hpp"

#include <sqlite3.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "daemon/buffer/buffer_file.hpp"
#include "daemon/buffer/sqlite/settings.hpp"
#include "daemon/buffer/sqlite/store_core.hpp"

namespace kaa {
namespace {

using sqlite_store::kComponent;

bool is_disk_full(const Error& e) {
    return (e.code & 0xff) == SQLITE_FULL;
}

}  // namespace

SqliteSampleStore::SqliteSampleStore(std::unique_ptr<SqliteStoreCore> core, std::string path,
                                     DiskReserve reserve)
    : core_(std::move(core)), path_(std::move(path)), reserve_(std::move(reserve)) {}

SqliteSampleStore::~SqliteSampleStore() = default;

Result<std::unique_ptr<SqliteSampleStore>> SqliteSampleStore::open(
    const SqliteStoreOptions& options) {
    DiskReserve reserve(options.path + "-reserve", reserve_bytes_for(options.max_bytes));
    auto core = SqliteStoreCore::open(options);
    // A disk that filled up while the daemon was down: the reserve makes room to open.
    if (!core && is_disk_full(core.error()) && reserve.release()) {
        spdlog::error("{}: {}; gave the {} MiB reserve {} back to the disk and tries again",
                      kComponent, core.error().message, reserve.bytes() >> 20, reserve.path());
        core = SqliteStoreCore::open(options);
    }
    if (!core)
        return core.error();
    std::unique_ptr<SqliteSampleStore> store(
        new SqliteSampleStore(std::move(core.value()), options.path, std::move(reserve)));
    if (!store->reserve_.take()) {
        spdlog::warn(
            "{}: {}: no room on the disk for the {} MiB reserve that keeps deletions possible "
            "when the disk fills up; it is taken when there is room",
            kComponent, store->path_, store->reserve_.bytes() >> 20);
    }
    return Result<std::unique_ptr<SqliteSampleStore>>(std::move(store));
}

void SqliteSampleStore::enter_disk_full() {
    if (disk_full_)
        return;
    disk_full_ = true;
    const bool freed = reserve_.release();
    spdlog::error(
        "{}: {}: the disk is full; {}; samples are written to the buffer again once the disk "
        "has room (free some space on it, or lower buffer.max_size)",
        kComponent, path_,
        freed ? fmt::format("gave the {} MiB reserve back so that delivered samples can still "
                            "be deleted",
                            reserve_.bytes() >> 20)
              : std::string("no reserve was held"));
}

void SqliteSampleStore::leave_disk_full_if_room() {
    // Delivered samples deleted leave free pages in the file: new rows fit there even when
    // the disk itself stays full (a buffer.max_size larger than the disk).
    // The reserve is taken again only with as much room left beside it: else the next
    // appends would fill the disk again at once.
    const uint64_t in_file = core_->free_bytes();
    const bool reserve = buffer_file::free_bytes(path_) >= 2 * reserve_.bytes() && reserve_.take();
    if (!reserve && in_file < 4 * reserve_.bytes())
        return;
    disk_full_ = false;
    spdlog::info("{}: {}: the disk has room again ({}): samples are written to the buffer again",
                 kComponent, path_,
                 reserve ? fmt::format("the {} MiB reserve is held again", reserve_.bytes() >> 20)
                         : fmt::format("{} MiB free inside the file", in_file >> 20));
}

Status SqliteSampleStore::append(const std::vector<BufferedSample>& samples, size_t& stored) {
    stored = 0;
    if (disk_full_) {
        return make_error(ErrorKind::kIo, fmt::format("buffer {}: disk full", path_), SQLITE_FULL);
    }
    Status st = core_->append(samples, stored);
    if (!st && core_->take_disk_full())
        enter_disk_full();
    return st;
}

std::vector<StoredSample> SqliteSampleStore::take(size_t meter_index, size_t max, Lane lane) {
    return core_->take(meter_index, max, lane);
}

void SqliteSampleStore::start_live() {
    core_->start_live();
}

void SqliteSampleStore::release(const std::vector<uint64_t>& ids) {
    core_->release(ids);
}

Status SqliteSampleStore::remove(const std::vector<uint64_t>& ids) {
    Status st = core_->remove(ids);
    if (!st && core_->take_disk_full()) {
        // Once more, into the reserve's room and with the log started again at its head.
        enter_disk_full();
        core_->restart_wal();
        st = core_->remove(ids);
        (void)core_->take_disk_full();
    }
    return st;
}

bool SqliteSampleStore::has_pending(size_t meter_index, Lane lane) const {
    return core_->has_pending(meter_index, lane);
}

StoreStats SqliteSampleStore::stats() const {
    return core_->stats();
}

std::optional<int64_t> SqliteSampleStore::oldest_read_ms() {
    return core_->oldest_read_ms();
}

Status SqliteSampleStore::shift_read_times(int64_t offset_ms) {
    return core_->shift_read_times(offset_ms);
}

size_t SqliteSampleStore::add_meter(const std::string& name) {
    return core_->add_meter(name);
}

Status SqliteSampleStore::check_file() {
    Status st = core_->check_file();
    if (disk_full_)
        leave_disk_full_if_room();
    else if (!reserve_.held())
        reserve_.take();
    return st;
}

std::optional<std::chrono::steady_clock::time_point> SqliteSampleStore::sync_due() const {
    return core_->sync_due();
}

Status SqliteSampleStore::sync() {
    return core_->sync();
}

bool SqliteSampleStore::compact(size_t max_rows) {
    const bool more = core_->compact(max_rows);
    if (core_->take_disk_full()) {
        enter_disk_full();
        core_->restart_wal();  // the next step reuses the log's room
    }
    return more;
}

uint64_t SqliteSampleStore::orphaned_samples() const {
    return core_->orphaned_samples();
}

uint64_t SqliteSampleStore::delivered_rows() const {
    return core_->delivered_rows();
}

bool SqliteSampleStore::checked_at_open() const {
    return core_->checked_at_open();
}

}  // namespace kaa
