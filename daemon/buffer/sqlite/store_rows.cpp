// Durable sample store: the rows as the Ledger's take() reads them, by id and in id order.
#include <sqlite3.h>

#include <algorithm>
#include <iterator>

#include <fmt/format.h>

#include "daemon/buffer/sqlite/store_core.hpp"
#include "daemon/buffer/sqlite/support.hpp"

namespace kaa {

using namespace sqlite_support;  // NOLINT(google-build-using-namespace): this file's helpers

RowSource::Found SqliteStoreCore::Rows::read(size_t meter, uint64_t id, StoredSample& out) {
    const MeterTable& table = *core_.meters_[meter].table;
    sqlite3_stmt* select_one = table.select_one;
    Reset reset(select_one);
    bind_id(select_one, 1, table.key(id));
    const int rc = sqlite3_step(select_one);
    if (rc == SQLITE_DONE)
        return Found::kGone;
    if (rc != SQLITE_ROW) {
        core_.report_read_error(rc);
        return Found::kFailed;
    }
    out =
        StoredSample{id, meter, sqlite3_column_int64(select_one, 0), column_string(select_one, 1)};
    return Found::kRow;
}

bool SqliteStoreCore::Rows::read_after(size_t meter, uint64_t after, uint64_t below, size_t max,
                                       std::vector<StoredSample>& out) {
    const MeterTable& table = *core_.meters_[meter].table;
    sqlite3_stmt* select_new = table.select_new;
    Reset reset(select_new);
    bind_id(select_new, 1, table.key(after));
    bind_id(select_new, 2, max);
    bind_id(select_new, 3, table.key(below));
    int rc = SQLITE_DONE;
    while ((rc = sqlite3_step(select_new)) == SQLITE_ROW) {
        out.push_back(StoredSample{table.id_of(column_u64(select_new, 0)), meter,
                                   sqlite3_column_int64(select_new, 1),
                                   column_string(select_new, 2)});
    }
    if (rc != SQLITE_DONE) {
        core_.report_read_error(rc);
        return false;
    }
    return true;
}

std::optional<int64_t> SqliteStoreCore::oldest_read_ms() {
    Rows rows(*this);
    std::optional<int64_t> oldest;
    std::vector<StoredSample> first;
    for (size_t m = 0; m < meters_.size(); ++m) {
        if (meters_[m].table == nullptr)
            continue;
        // The meter's first row that is not in a delivered run (those wait for compact()).
        uint64_t after = 0;
        for (;;) {
            const auto skip = rows.next_skipped(m, after);
            if (skip && skip->first <= after + 1) {
                after = skip->last;
                continue;
            }
            first.clear();
            const uint64_t below = skip ? skip->first : MeterTable::kMaxId;
            if (!rows.read_after(m, after, below, 1, first))
                break;
            if (!first.empty()) {
                oldest = std::min(oldest.value_or(first[0].read_ms), first[0].read_ms);
                break;
            }
            if (!skip)
                break;
            after = skip->last;
        }
    }
    return oldest;
}

std::optional<IdRange> SqliteStoreCore::Rows::next_skipped(size_t meter, uint64_t after) const {
    const auto delivered = core_.delivered_by_meter_.find(core_.meters_[meter].name);
    if (delivered == core_.delivered_by_meter_.end())
        return std::nullopt;
    const auto& done = delivered->second;
    const auto next = done.upper_bound(after + 1);
    if (next != done.begin() && std::prev(next)->second > after)
        return IdRange{std::prev(next)->first, std::prev(next)->second};
    if (next != done.end())
        return IdRange{next->first, next->second};
    return std::nullopt;
}

Status SqliteStoreCore::shift_read_times(int64_t offset_ms) {
    if (offset_ms == 0)
        return {};
    // Every meter's rows with ids of this run: the low kIdBits of the key are the id.
    const std::string sql = fmt::format("UPDATE samples SET ts = ts + ({}) WHERE (key & {}) >= {}",
                                        offset_ms, MeterTable::kMaxId, first_id_of_run_);
    return query(sql, nullptr);
}

}  // namespace kaa
