#pragma once
// MeterTables: the buffer keeps each meter's samples in a table of its own, m<N>(id, ts,
// json), listed by name in table `meters`. Every insert appends at the end of its table (the
// fastest insert SQLite has, and no index to maintain), a meter's rows sit together for
// takes and deletions, and ids stay global, so samples of all meters still have one order.
// Part of SqliteSampleStore; only it (and the composition root) knows SQLite.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "daemon/core/result.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace kaa {

/// The prepared statements of one meter's table.
struct MeterTable {
    std::string meter;                     // the meter's name
    std::string table;                     // m<N>
    sqlite3_stmt* insert = nullptr;        // ?1 id, ?2 ts, ?3 json
    sqlite3_stmt* select_new = nullptr;    // rows with ?1 < id < ?3, oldest first, ?2 at most
    sqlite3_stmt* select_one = nullptr;    // ts, json of id ?1
    sqlite3_stmt* delete_sized = nullptr;  // deletes id ?1, returns its payload bytes
    sqlite3_stmt* delete_one = nullptr;    // deletes id ?1
    sqlite3_stmt* delete_range = nullptr;  // deletes ids ?1..?2
    sqlite3_stmt* oldest = nullptr;        // the ?1 smallest ids
};

/// The per-meter tables of one database, created on first use.
class MeterTables {
  public:
    /// `fail` turns a SQLite result code and an action into the store's error.
    using Fail = std::function<Status(int rc, const char* what)>;
    MeterTables(sqlite3* db, Fail fail) : db_(db), fail_(std::move(fail)) {}
    ~MeterTables();
    MeterTables(const MeterTables&) = delete;
    MeterTables& operator=(const MeterTables&) = delete;

    /// Creates the registry table when missing (inside the caller's transaction).
    static const char* schema();
    /// Loads the registry and prepares the statements of every listed table.
    Status load();
    /// The table of `meter`, created (table, registry row, statements) if it has none.
    Result<MeterTable*> ensure(const std::string& meter);
    /// The table of `meter`, or nullptr when it has none.
    MeterTable* find(const std::string& meter);
    /// Every meter's table, by meter name.
    const std::map<std::string, std::unique_ptr<MeterTable>>& all() const { return tables_; }

  private:
    Status prepare(MeterTable& t);

    sqlite3* db_;
    Fail fail_;
    std::map<std::string, std::unique_ptr<MeterTable>> tables_;
    int64_t next_number_ = 1;
};

}  // namespace kaa
