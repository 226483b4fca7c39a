// Meter ranges of the SQLite buffer's samples table.
#include "daemon/buffer/sqlite/meter_tables.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <vector>

#include "daemon/buffer/sqlite/support.hpp"

namespace kaa {

using sqlite_support::bind_text;
using sqlite_support::column_string;

MeterTables::~MeterTables() {
    for (sqlite3_stmt* stmt :
         {shared_.insert, shared_.select_new, shared_.select_one, shared_.delete_sized,
          shared_.delete_one, shared_.delete_range, shared_.oldest}) {
        sqlite3_finalize(stmt);
    }
}

const char* MeterTables::schema() {
    return "CREATE TABLE IF NOT EXISTS samples(key INTEGER PRIMARY KEY, ts INTEGER NOT NULL,"
           " record TEXT NOT NULL);"
           "CREATE TABLE IF NOT EXISTS meters(name TEXT PRIMARY KEY, number INTEGER NOT NULL"
           " UNIQUE) WITHOUT ROWID;";
}

Status MeterTables::load() {
    const std::pair<sqlite3_stmt**, const char*> all[] = {
        {&shared_.insert, "INSERT INTO samples(key, ts, record) VALUES(?1, ?2, ?3)"},
        {&shared_.select_new,
         "SELECT key, ts, record FROM samples WHERE key > ?1 AND key < ?3 ORDER BY key LIMIT ?2"},
        {&shared_.select_one, "SELECT ts, record FROM samples WHERE key = ?1"},
        {&shared_.delete_sized,
         "DELETE FROM samples WHERE key = ?1 RETURNING length(CAST(record AS BLOB))"},
        {&shared_.delete_one, "DELETE FROM samples WHERE key = ?1"},
        {&shared_.delete_range, "DELETE FROM samples WHERE key BETWEEN ?1 AND ?2"},
        {&shared_.oldest,
         "SELECT key FROM samples WHERE key BETWEEN ?2 AND ?3 ORDER BY key LIMIT ?1"},
    };
    for (const auto& [stmt, sql] : all) {
        const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, nullptr);
        if (rc != SQLITE_OK)
            return fail_(rc, "prepare statements (not a kaa-gateway buffer?)");
    }
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db_, "SELECT name, number FROM meters", -1, &stmt, nullptr);
    std::vector<std::pair<std::string, int64_t>> listed;
    while (rc == SQLITE_OK || rc == SQLITE_ROW) {
        rc = sqlite3_step(stmt);
        if (rc == SQLITE_ROW)
            listed.emplace_back(column_string(stmt, 0), sqlite3_column_int64(stmt, 1));
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE)
        return fail_(rc, "read the list of meters");
    for (const auto& [name, number] : listed)
        add(name, number);
    return {};
}

MeterTable* MeterTables::add(const std::string& meter, int64_t number) {
    auto t = std::make_unique<MeterTable>(shared_);
    t->meter = meter;
    t->number = number;
    t->base = static_cast<uint64_t>(number) << MeterTable::kIdBits;
    next_number_ = std::max(next_number_, number + 1);
    MeterTable* raw = t.get();
    tables_[meter] = std::move(t);
    return raw;
}

MeterTable* MeterTables::find(const std::string& meter) {
    const auto it = tables_.find(meter);
    return it == tables_.end() ? nullptr : it->second.get();
}

Result<MeterTable*> MeterTables::ensure(const std::string& meter) {
    if (MeterTable* t = find(meter))
        return t;
    constexpr int64_t kMaxNumber = (int64_t{1} << (63 - MeterTable::kIdBits)) - 1;
    if (next_number_ > kMaxNumber)
        return fail_(SQLITE_FULL, "register another meter (numbers used up)").error();
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db_, "INSERT INTO meters(name, number) VALUES(?1, ?2)", -1, &stmt,
                                nullptr);
    if (rc == SQLITE_OK) {
        bind_text(stmt, 1, meter);
        sqlite3_bind_int64(stmt, 2, next_number_);
        rc = sqlite3_step(stmt);
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE)
        return fail_(rc, "register a meter").error();
    return add(meter, next_number_);
}

}  // namespace kaa
