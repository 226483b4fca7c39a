// Durable sample store: appending poll rounds and keeping the file within its bound.
#include <sqlite3.h>

#include <algorithm>
#include <tuple>

#include <fmt/format.h>

#include "daemon/buffer/sqlite/settings.hpp"
#include "daemon/buffer/sqlite/store_core.hpp"
#include "daemon/buffer/sqlite/support.hpp"

namespace kaa {

using namespace sqlite_support;  // NOLINT(google-build-using-namespace): this file's helpers
using namespace sqlite_store;    // NOLINT(google-build-using-namespace)

Status SqliteStoreCore::measure(uint64_t& used_bytes) {
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

uint64_t SqliteStoreCore::free_bytes() {
    Reset reset(freelist_count_);
    if (sqlite3_step(freelist_count_) != SQLITE_ROW)
        return 0;
    return column_u64(freelist_count_, 0) * page_size_;
}

uint64_t SqliteStoreCore::row_cost(const BufferedSample& sample) const {
    return sample.record.size() + 2 * meters_[sample.meter_index].name.size() + kRowOverhead;
}

Status SqliteStoreCore::insert(const BufferedSample& sample, uint64_t id) {
    MeterTable* table = meters_[sample.meter_index].table;
    if (table == nullptr)
        return fail(SQLITE_ERROR, "write samples of a meter whose table could not be created");
    Reset reset(table->insert);
    bind_id(table->insert, 1, table->key(id));
    sqlite3_bind_int64(table->insert, 2, sample.read_ms);
    bind_text(table->insert, 3, sample.record);
    const int rc = sqlite3_step(table->insert);
    return rc == SQLITE_DONE ? Status{} : fail(rc, "write samples");
}

Status SqliteStoreCore::append(const std::vector<BufferedSample>& samples, size_t& stored) {
    stored = 0;
    for (const BufferedSample& s : samples) {
        if (s.meter_index >= meters_.size()) {
            return make_error(ErrorKind::kInvalidArgument,
                              fmt::format("buffer: sample for unknown meter {}", s.meter_index));
        }
    }
    // One transaction per chunk: the WAL is checkpointed between transactions only.
    while (stored < samples.size()) {
        size_t end = stored;
        uint64_t incoming = 0;
        while (end < samples.size() &&
               (end == stored || incoming + row_cost(samples[end]) <= max_transaction_bytes_)) {
            incoming += row_cost(samples[end++]);
        }
        if (auto st = append_transaction(samples, stored, end, incoming); !st)
            return st;
        stored = end;
    }
    return {};
}

Status SqliteStoreCore::append_transaction(const std::vector<BufferedSample>& samples, size_t begin,
                                           size_t end, uint64_t incoming) {
    make_room_for_append(incoming);
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
    size_t runs = 0;
    uint64_t rows = 0;
    const size_t count = end - begin;
    size_t accepted = count;
    Status st;
    // used_bytes_ is an upper estimate between measurements: measured (inside the
    // transaction) only near the budget, where deletions since may have freed pages.
    uint64_t used = used_bytes_;
    if (used + incoming > data_budget_ && (st = measure(used)) && used + incoming > data_budget_) {
        st = make_room(incoming, used, gone, runs, rows);
        // What still does not fit is refused: the newest samples of the round. Once refusing,
        // drop-newest goes on refusing until rows leave, so what is kept has no holes.
        accepted = 0;
        while (!refusing_ && accepted < count &&
               used + row_cost(samples[begin + accepted]) <= data_budget_) {
            used += row_cost(samples[begin + accepted++]);
        }
        refusing_ = options_.overflow == config::Overflow::kDropNewest && accepted < count;
    } else {
        used += incoming;
    }
    for (size_t i = 0; st && i < accepted; ++i)
        st = insert(samples[begin + i], ledger_.next_id() + i);
    // row_cost() underestimates rows that fill a page on their own (large samples): near
    // the budget, measure what the rows really took and give back what does not fit.
    if (st && used > data_budget_ / 2 && (st = measure(used)) && used > data_budget_) {
        st = shrink_to_budget(samples, begin, accepted, gone, used, runs, rows);
    }
    if (st)
        st = exec(commit_, "commit samples");
    if (!st) {
        rollback();
        return st;
    }
    if (sync)
        last_sync_ = now;
    unsynced_appends_ = !sync;
    compacted(runs, rows);
    for (const Gone& row : gone)
        forget(row);
    stats_.dropped_overflow += gone.size() + (count - accepted);
    for (size_t i = 0; i < accepted; ++i) {
        ledger_.add(samples[begin + i].meter_index);
        ++stats_.samples;
        stats_.bytes += samples[begin + i].record.size();
    }
    used_bytes_ = used;
    return {};
}

void SqliteStoreCore::make_room_for_append(uint64_t incoming) {
    // Past half the budget, rows of delivered runs are deleted before more are written, in
    // transactions of their own: one big deletion would swell the WAL past its allowance.
    constexpr size_t kRowsPerStep = 500;
    uint64_t used = used_bytes_;
    while (!to_compact_.empty() && used + incoming > data_budget_ / 2) {
        if (!compact(kRowsPerStep) && !to_compact_.empty())
            return;  // failed: the append's own make_room tries again
        if (!measure(used))
            return;
    }
    used_bytes_ = used;
}

Status SqliteStoreCore::make_room(uint64_t incoming, uint64_t& used, std::vector<Gone>& gone,
                                  size_t& runs, uint64_t& rows) {
    Status st;
    // Rows of delivered samples go first: deleting them loses nothing.
    while (st && used + incoming > data_budget_ && runs < to_compact_.size()) {
        st = compact_runs(1, runs, rows);  // one run at a time: only what is needed
        if (st)
            st = measure(used);
    }
    if (options_.overflow != config::Overflow::kDropOldest)
        return st;
    const size_t chunk = std::max<size_t>(1, stats_.samples / 100);
    while (st && used + incoming > data_budget_) {
        const size_t before = gone.size();
        st = drop_oldest(chunk, gone);
        if (st)
            st = measure(used);
        if (gone.size() == before)
            break;  // only rows in flight are left
    }
    return st;
}

Status SqliteStoreCore::shrink_to_budget(const std::vector<BufferedSample>& samples, size_t begin,
                                         size_t& accepted, std::vector<Gone>& gone, uint64_t& used,
                                         size_t& runs, uint64_t& rows) {
    Status st = make_room(0, used, gone, runs, rows);
    // Refuse this round's newest rows until the rest fits.
    while (st && used > data_budget_ && accepted > 0) {
        --accepted;
        const MeterTable* table = meters_[samples[begin + accepted].meter_index].table;
        Reset reset(table->delete_one);
        bind_id(table->delete_one, 1, table->key(ledger_.next_id() + accepted));
        if (const int rc = sqlite3_step(table->delete_one); rc != SQLITE_DONE)
            return fail(rc, "refuse samples over the budget");
        st = measure(used);
    }
    return st;
}

Status SqliteStoreCore::drop_oldest(size_t count, std::vector<Gone>& gone) {
    // The oldest rows overall are among the first `count` waiting rows of each meter. Rows of
    // delivered runs are gone by now (make_room deletes them first).
    struct Candidate {
        uint64_t id;
        size_t meter;
        MeterTable* table;
    };
    std::vector<Candidate> candidates;
    const size_t limit = count + ledger_.in_flight_count();
    const size_t meters = meters_.size() + orphan_names_.size();
    for (size_t slot = 0; slot < meters; ++slot) {
        const bool orphan = slot >= meters_.size();
        MeterTable* table =
            orphan ? tables_->find(orphan_names_[slot - meters_.size()]) : meters_[slot].table;
        if (table == nullptr)
            continue;
        Reset reset(table->oldest);
        bind_id(table->oldest, 1, limit);
        bind_id(table->oldest, 2, table->base);
        bind_id(table->oldest, 3, table->key(MeterTable::kMaxId));
        size_t found = 0;
        int rc = SQLITE_DONE;
        while (found < count && (rc = sqlite3_step(table->oldest)) == SQLITE_ROW) {
            const uint64_t id = table->id_of(column_u64(table->oldest, 0));
            if (ledger_.in_flight(id) != nullptr)
                continue;  // never drop samples in flight
            candidates.push_back(Candidate{id, orphan ? kOrphan : slot, table});
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
        return std::tie(a.table, a.id) < std::tie(b.table, b.id);
    });
    for (const Candidate& c : candidates) {
        if (auto st = delete_waiting(c.id, c.meter, *c.table, gone); !st)
            return st;
    }
    return {};
}

Status SqliteStoreCore::delete_waiting(uint64_t id, size_t meter, MeterTable& table,
                                       std::vector<Gone>& gone) {
    Reset reset(table.delete_sized);
    bind_id(table.delete_sized, 1, table.key(id));
    int rc = sqlite3_step(table.delete_sized);
    if (rc == SQLITE_ROW) {
        gone.push_back(Gone{id, meter, column_u64(table.delete_sized, 0)});
        rc = sqlite3_step(table.delete_sized);
    }
    return rc == SQLITE_DONE ? Status{} : fail(rc, "delete samples");
}

void SqliteStoreCore::forget(const Gone& row) {
    refusing_ = false;  // room again
    --stats_.samples;
    stats_.bytes -= std::min(stats_.bytes, row.bytes);
    if (!ledger_.forget(row.id, row.meter) && row.meter == kOrphan && orphaned_ > 0)
        --orphaned_;
}

}  // namespace kaa

namespace kaa {

std::optional<std::chrono::steady_clock::time_point> SqliteStoreCore::sync_due() const {
    if (!unsynced_appends_)
        return std::nullopt;
    return last_sync_ + kSyncInterval;
}

Status SqliteStoreCore::sync() {
    if (!unsynced_appends_)
        return {};
    // The log's own file through SQLite's VFS: what a FULL commit would have synced.
    sqlite3_file* wal = nullptr;
    int rc = sqlite3_file_control(db_, "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal);
    if (rc == SQLITE_OK && wal != nullptr && wal->pMethods != nullptr)
        rc = wal->pMethods->xSync(wal, SQLITE_SYNC_NORMAL);
    if (rc != SQLITE_OK)
        return fail(rc, "sync the write-ahead log");
    last_sync_ = std::chrono::steady_clock::now();
    unsynced_appends_ = false;
    return {};
}

}  // namespace kaa
