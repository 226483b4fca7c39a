// Per-meter sample tables of the SQLite buffer.
#include "daemon/sqlite_meter_tables.hpp"

#include <sqlite3.h>

#include <algorithm>

#include <fmt/format.h>

#include "daemon/sqlite_support.hpp"

namespace kaa {

using sqlite_support::bind_id;
using sqlite_support::bind_text;
using sqlite_support::column_string;
using sqlite_support::Reset;

MeterTables::~MeterTables() {
    for (auto& [name, t] : tables_) {
        for (sqlite3_stmt* stmt : {t->insert, t->select_new, t->select_one, t->delete_sized,
                                   t->delete_one, t->delete_range, t->oldest}) {
            sqlite3_finalize(stmt);
        }
    }
}

const char* MeterTables::schema() {
    return "CREATE TABLE IF NOT EXISTS meters(name TEXT PRIMARY KEY, number INTEGER NOT NULL"
           " UNIQUE) WITHOUT ROWID;";
}

Status MeterTables::prepare(MeterTable& t) {
    const std::pair<sqlite3_stmt**, std::string> all[] = {
        {&t.insert, fmt::format("INSERT INTO {}(id, ts, json) VALUES(?1, ?2, ?3)", t.table)},
        {&t.select_new, fmt::format("SELECT id, ts, json FROM {} WHERE id > ?1 AND id < ?3 "
                                    "ORDER BY id LIMIT ?2",
                                    t.table)},
        {&t.select_one, fmt::format("SELECT ts, json FROM {} WHERE id = ?1", t.table)},
        {&t.delete_sized,
         fmt::format("DELETE FROM {} WHERE id = ?1 RETURNING length(CAST(json AS BLOB))", t.table)},
        {&t.delete_one, fmt::format("DELETE FROM {} WHERE id = ?1", t.table)},
        {&t.delete_range, fmt::format("DELETE FROM {} WHERE id BETWEEN ?1 AND ?2", t.table)},
        {&t.oldest, fmt::format("SELECT id FROM {} ORDER BY id LIMIT ?1", t.table)},
    };
    for (const auto& [stmt, sql] : all) {
        const int rc =
            sqlite3_prepare_v3(db_, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, stmt, nullptr);
        if (rc != SQLITE_OK)
            return fail_(rc, "prepare statements (not a kaa-gateway buffer?)");
    }
    return {};
}

Status MeterTables::load() {
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
    for (const auto& [name, number] : listed) {
        auto t = std::make_unique<MeterTable>();
        t->meter = name;
        t->table = fmt::format("m{}", number);
        next_number_ = std::max(next_number_, number + 1);
        if (auto st = prepare(*t); !st)
            return st;
        tables_.emplace(name, std::move(t));
    }
    return {};
}

MeterTable* MeterTables::find(const std::string& meter) {
    const auto it = tables_.find(meter);
    return it == tables_.end() ? nullptr : it->second.get();
}

Result<MeterTable*> MeterTables::ensure(const std::string& meter) {
    if (MeterTable* t = find(meter))
        return t;
    auto t = std::make_unique<MeterTable>();
    t->meter = meter;
    t->table = fmt::format("m{}", next_number_);
    const std::string create = fmt::format(
        "CREATE TABLE IF NOT EXISTS {}(id INTEGER PRIMARY KEY, ts INTEGER NOT NULL,"
        " json TEXT NOT NULL)",
        t->table);
    if (const int rc = sqlite3_exec(db_, create.c_str(), nullptr, nullptr, nullptr);
        rc != SQLITE_OK) {
        return fail_(rc, "create a meter's table").error();
    }
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
        return fail_(rc, "list a meter's table").error();
    if (auto st = prepare(*t); !st)
        return st.error();
    ++next_number_;
    MeterTable* raw = t.get();
    tables_.emplace(meter, std::move(t));
    return raw;
}

}  // namespace kaa
