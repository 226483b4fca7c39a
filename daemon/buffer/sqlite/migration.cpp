// Creating the buffer's tables and migrating files written by earlier releases.
#include "daemon/buffer/sqlite/migration.hpp"

#include <string>
#include <vector>

#include <fmt/format.h>

#include "daemon/buffer/sqlite/support.hpp"

namespace kaa::sqlite_store {
namespace {

using sqlite_support::bind_id;
using sqlite_support::bind_text;
using sqlite_support::column_string;

// `delivered` lists runs of rows confirmed but not deleted yet; `state` holds the flag
// "closed cleanly". The samples and meters tables are MeterTables::schema().
constexpr const char* kTables =
    "CREATE TABLE IF NOT EXISTS delivered(meter TEXT NOT NULL, first_id INTEGER NOT NULL,"
    " last_id INTEGER NOT NULL, samples INTEGER NOT NULL, bytes INTEGER NOT NULL,"
    " PRIMARY KEY(meter, first_id)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS state(key TEXT PRIMARY KEY, value INTEGER NOT NULL)"
    " WITHOUT ROWID;";

// Rows up to schema 3 began with Kaa's timestamp member, {"timestamp":<integer ms>,...}:
// everything up to the first comma is that member, and the rest is kept byte for byte
// (json_remove() would keep it too on 3.40, but this needs no JSON parsing and no SQLite
// version's opinion of number text). The read time stays in column ts.
constexpr const char* kStripTimestamp =
    "UPDATE samples SET record = CASE WHEN instr(record, ',') > 0"
    " THEN '{' || substr(record, instr(record, ',') + 1) ELSE '{}' END"
    " WHERE record LIKE '{\"timestamp\":%'";
// A delivered run's payload bytes, counted again from its rows' shorter records.
constexpr const char* kRecountDelivered =
    "UPDATE delivered SET bytes = (SELECT coalesce(sum(length(CAST(s.record AS BLOB))), 0)"
    " FROM samples s, meters m WHERE m.name = delivered.meter"
    " AND s.key BETWEEN (m.number << 44) + delivered.first_id"
    " AND (m.number << 44) + delivered.last_id)";

/// Runs statements that return no rows.
Status exec(sqlite3* db, const std::string& sql, const MeterTables::Fail& fail, const char* what) {
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
    return rc == SQLITE_OK ? Status{} : fail(rc, what);
}

/// Schemas 1 and 2: moves each meter's rows of samples_old into its key range.
Status move_to_ranges(sqlite3* db, MeterTables& tables, const MeterTables::Fail& fail) {
    std::vector<std::string> names;
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db, "SELECT DISTINCT meter FROM samples_old", -1, &stmt, nullptr);
    while (rc == SQLITE_OK || rc == SQLITE_ROW) {
        rc = sqlite3_step(stmt);
        if (rc == SQLITE_ROW)
            names.push_back(column_string(stmt, 0));
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE)
        return fail(rc, "read the samples to move");
    for (const std::string& name : names) {
        auto table = tables.ensure(name);
        if (!table)
            return table.error();
        rc =
            sqlite3_prepare_v2(db,
                               "INSERT INTO samples(key, ts, record) SELECT ?2 + id, ts, json FROM "
                               "samples_old WHERE meter = ?1",
                               -1, &stmt, nullptr);
        if (rc == SQLITE_OK) {
            bind_text(stmt, 1, name);
            bind_id(stmt, 2, table.value()->base);
            rc = sqlite3_step(stmt);
        }
        sqlite3_finalize(stmt);
        if (rc != SQLITE_DONE)
            return fail(rc, "move samples to their meter's range");
    }
    return exec(db, "DROP TABLE samples_old", fail, "drop the old samples table");
}

}  // namespace

Status migrate(sqlite3* db, int64_t schema, MeterTables& tables, const MeterTables::Fail& fail) {
    std::string create = "BEGIN IMMEDIATE;";
    if (schema == 1 || schema == 2)
        create += "ALTER TABLE samples RENAME TO samples_old;";
    if (schema == 3)
        create += "ALTER TABLE samples RENAME COLUMN json TO record;";
    create += kTables;
    create += MeterTables::schema();
    if (auto st = exec(db, create, fail, "create the tables"); !st)
        return st;
    if (schema == 1 || schema == 2) {
        if (auto st = move_to_ranges(db, tables, fail); !st)
            return st;
    }
    if (schema >= 1) {
        if (auto st = exec(db, kStripTimestamp, fail, "take the read time out of the samples");
            !st) {
            return st;
        }
        if (auto st = exec(db, kRecountDelivered, fail, "count the delivered samples again"); !st) {
            return st;
        }
    }
    return exec(db, fmt::format("PRAGMA user_version={};COMMIT;", kSchemaVersion), fail,
                "record the schema");
}

}  // namespace kaa::sqlite_store
