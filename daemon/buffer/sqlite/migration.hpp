#pragma once
// The buffer file's schema: creating it, and bringing files of earlier releases up to date.
// Part of the SQLite layer; only its .cpp files include this header.

#include <sqlite3.h>

#include <cstdint>

#include "core/result.hpp"
#include "daemon/buffer/sqlite/meter_tables.hpp"

namespace kaa::sqlite_store {

/// The schema this build writes (PRAGMA user_version). 1: one table samples(id, meter, ts,
/// json) with an index on (meter, id). 2: + `delivered` and `state`. 3: each meter's rows in
/// a key range of samples(key, ts, json) (MeterTables). 4: the column is `record` and holds
/// the readings only; rows up to 3 held Kaa's payload, {"timestamp":<ms>,...}.
inline constexpr int64_t kSchemaVersion = 4;

/// Creates the tables of a new file (schema 0) or migrates an older one, in one transaction.
Status migrate(sqlite3* db, int64_t schema, MeterTables& tables, const MeterTables::Fail& fail);

}  // namespace kaa::sqlite_store
