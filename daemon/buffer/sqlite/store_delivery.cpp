// Durable sample store: taking samples out for delivery, putting them back, and recording
// them delivered (deleting their rows later, in compact()).
#include <sqlite3.h>

#include <algorithm>
#include <iterator>
#include <unordered_set>

#include "daemon/buffer/sqlite/settings.hpp"
#include "daemon/buffer/sqlite/store_core.hpp"
#include "daemon/buffer/sqlite/support.hpp"

namespace kaa {

using namespace sqlite_support;  // NOLINT(google-build-using-namespace): this file's helpers
using namespace sqlite_store;    // NOLINT(google-build-using-namespace)

std::vector<StoredSample> SqliteStoreCore::take(size_t meter_index, size_t max, Lane lane) {
    if (meter_index >= meters_.size() || meters_[meter_index].table == nullptr)
        return {};
    return ledger_.take(meter_index, max, lane, rows_);
}

void SqliteStoreCore::start_live() {
    ledger_.start_live();
}

void SqliteStoreCore::release(const std::vector<uint64_t>& ids) {
    ledger_.release(ids);
}

Status SqliteStoreCore::remove(const std::vector<uint64_t>& ids) {
    if (ids.empty())
        return {};
    // A deletion lost to a power cut only means a duplicate later: never wait for fsync.
    if (full_sync_) {
        const int rc = sqlite3_exec(db_, kSynchronous, nullptr, nullptr, nullptr);
        if (rc != SQLITE_OK)
            return fail(rc, "set synchronous");
        full_sync_ = false;
    }
    // Runs confirmed whole are recorded as delivered; every other row is deleted now.
    std::unordered_map<uint64_t, size_t> confirmed;  // run id -> its rows among `ids`
    for (uint64_t id : ids) {
        if (const Ledger::InFlight* taken = ledger_.in_flight(id))
            ++confirmed[taken->run];
    }
    // Only for batches of a backlog (live batches of a sample or a few cost more to record
    // and compact than to delete), and only while the file has room: near the bound, rows
    // must go now to free their pages.
    constexpr size_t kMinRecordedRun = 32;
    const bool defer = used_bytes_ < data_budget_ / 2;
    std::unordered_set<uint64_t> whole;
    for (const auto& [run_id, count] : defer ? confirmed : decltype(confirmed){}) {
        const Run* run = ledger_.run(run_id);
        if (run != nullptr && run->clean && count == run->count && run->outstanding == count &&
            count >= kMinRecordedRun) {
            whole.insert(run_id);
        }
    }
    std::vector<std::pair<size_t, Run>> records;    // (meter, run) recorded as delivered
    std::vector<uint64_t> recorded;                 // their ids
    std::vector<std::pair<size_t, uint64_t>> rows;  // (meter, id) deleted now, in page order
    rows.reserve(ids.size());
    std::unordered_set<uint64_t> met;
    for (uint64_t id : ids) {
        const Ledger::InFlight* taken = ledger_.in_flight(id);
        if (taken != nullptr && whole.count(taken->run) > 0) {
            if (met.insert(taken->run).second)  // first row of its run
                records.emplace_back(taken->meter, *ledger_.run(taken->run));
            recorded.push_back(id);
            continue;
        }
        rows.emplace_back(taken == nullptr ? kOrphan : taken->meter, id);
    }
    std::sort(rows.begin(), rows.end());
    Status st = exec(begin_, "start a transaction");
    if (!st)
        return st;
    for (size_t i = 0; st && i < records.size(); ++i)
        st = record_delivered(records[i].first, records[i].second);
    std::vector<Gone> gone;
    for (size_t i = 0; st && i < rows.size(); ++i)
        st = delete_row(rows[i].second, gone);
    if (st)
        st = exec(commit_, "commit deletions");
    if (!st) {
        rollback();
        return st;
    }
    for (const auto& [meter, run] : records) {
        delivered_by_meter_[meters_[meter].name][run.first] = run.last;
        to_compact_.push_back(DeliveredRun{meters_[meter].name, run.first, run.last});
        delivered_rows_ += run.count;
    }
    // Recorded rows leave the bookkeeping as if deleted: counts, bytes, in-flight set, runs.
    for (uint64_t id : recorded) {
        const Ledger::InFlight taken = *ledger_.in_flight(id);
        forget(Gone{id, taken.meter, taken.bytes});
    }
    for (const Gone& row : gone)
        forget(row);
    return {};
}

Status SqliteStoreCore::record_delivered(size_t meter, const Run& run) {
    Reset reset(insert_delivered_);
    bind_text(insert_delivered_, 1, meters_[meter].name);
    bind_id(insert_delivered_, 2, run.first);
    bind_id(insert_delivered_, 3, run.last);
    bind_id(insert_delivered_, 4, run.count);
    bind_id(insert_delivered_, 5, run.bytes);
    const int rc = sqlite3_step(insert_delivered_);
    return rc == SQLITE_DONE ? Status{} : fail(rc, "record delivered samples");
}

Status SqliteStoreCore::delete_row(uint64_t id, std::vector<Gone>& gone) {
    if (const Ledger::InFlight* taken = ledger_.in_flight(id)) {
        const MeterTable* table = meters_[taken->meter].table;
        sqlite3_stmt* del = table->delete_one;
        Reset reset(del);
        bind_id(del, 1, table->key(id));
        const int rc = sqlite3_step(del);
        if (rc != SQLITE_DONE)
            return fail(rc, "delete samples");
        if (sqlite3_changes(db_) > 0)
            gone.push_back(Gone{id, taken->meter, taken->bytes});
        return {};
    }
    // Not taken, so its meter is not known here: look in every table (the uplink only ever
    // removes samples it took).
    for (const auto& [name, table] : tables_->all()) {
        const auto meter = index_by_name_.find(name);
        if (in_delivered_run(name, id)) {
            // Counted out when it was recorded delivered: delete the row, nothing else.
            Reset reset(table->delete_one);
            bind_id(table->delete_one, 1, table->key(id));
            if (const int rc = sqlite3_step(table->delete_one); rc != SQLITE_DONE)
                return fail(rc, "delete samples");
            continue;
        }
        const size_t before = gone.size();
        if (auto st = delete_waiting(id, meter != index_by_name_.end() ? meter->second : kOrphan,
                                     *table, gone);
            !st) {
            return st;
        }
        if (gone.size() > before)
            return {};
    }
    return {};
}

bool SqliteStoreCore::in_delivered_run(const std::string& meter, uint64_t id) const {
    const auto runs = delivered_by_meter_.find(meter);
    if (runs == delivered_by_meter_.end())
        return false;
    const auto next = runs->second.upper_bound(id);
    return next != runs->second.begin() && std::prev(next)->second >= id;
}

Status SqliteStoreCore::compact_runs(size_t max_rows, size_t& runs, uint64_t& rows) {
    uint64_t deleted = 0;
    while (runs < to_compact_.size() && deleted < max_rows) {
        const DeliveredRun& run = to_compact_[runs];
        if (MeterTable* table = tables_->find(run.meter)) {
            Reset reset(table->delete_range);
            bind_id(table->delete_range, 1, table->key(run.first));
            bind_id(table->delete_range, 2, table->key(run.last));
            if (const int rc = sqlite3_step(table->delete_range); rc != SQLITE_DONE)
                return fail(rc, "delete delivered samples");
            deleted += static_cast<uint64_t>(sqlite3_changes(db_));
        }
        Reset reset(forget_delivered_);
        bind_text(forget_delivered_, 1, run.meter);
        bind_id(forget_delivered_, 2, run.first);
        if (const int rc = sqlite3_step(forget_delivered_); rc != SQLITE_DONE)
            return fail(rc, "delete delivered samples");
        ++runs;
    }
    rows += deleted;
    return {};
}

void SqliteStoreCore::compacted(size_t runs, uint64_t rows) {
    for (size_t i = 0; i < runs && !to_compact_.empty(); ++i) {
        const DeliveredRun& run = to_compact_.front();
        const auto meter = delivered_by_meter_.find(run.meter);
        if (meter != delivered_by_meter_.end()) {
            meter->second.erase(run.first);
            if (meter->second.empty())
                delivered_by_meter_.erase(meter);
        }
        to_compact_.pop_front();
    }
    delivered_rows_ -= std::min(delivered_rows_, rows);
    refusing_ = refusing_ && rows == 0;
    if (to_compact_.empty())
        delivered_rows_ = 0;
}

bool SqliteStoreCore::compact(size_t max_rows) {
    if (to_compact_.empty())
        return false;
    if (full_sync_) {
        if (sqlite3_exec(db_, kSynchronous, nullptr, nullptr, nullptr) != SQLITE_OK)
            return true;  // try again later
        full_sync_ = false;
    }
    size_t runs = 0;
    uint64_t rows = 0;
    Status st = exec(begin_, "start a transaction");
    if (st)
        st = compact_runs(max_rows, runs, rows);
    if (st)
        st = exec(commit_, "commit deletions");
    if (!st) {
        rollback();
        report_read_error(st.error().code);
        return false;  // the rows stay recorded as delivered; the next start tries again
    }
    compacted(runs, rows);
    return !to_compact_.empty();
}

void SqliteStoreCore::restart_wal() {
    sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_RESTART, nullptr, nullptr);
}

}  // namespace kaa
