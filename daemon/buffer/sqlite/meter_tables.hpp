#pragma once
// MeterTables: where each meter's samples are in the buffer. All samples live in one table,
// samples(key, ts, record), keyed by key = (meter number << 44) | id: a meter's rows sit
// together in id order (cheap takes and range deletions), every insert goes to the end of
// its meter's range with no index to maintain, and while little waits (steady polling) the
// rows of all meters share a few pages. Meter numbers are listed by name in table `meters`.
// Ids are global, so samples of all meters still have one order.
// Part of SqliteStoreCore; only it (and the composition root) knows SQLite.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "core/result.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace kaa {

/// One meter's range of the samples table, and the statements that work on it. The
/// statements are shared by all meters: bind keys made with key().
struct MeterTable {
    static constexpr int kIdBits = 44;
    static constexpr uint64_t kMaxId = (uint64_t{1} << kIdBits) - 1;

    std::string meter;  // the meter's name
    int64_t number = 0;
    uint64_t base = 0;  // number << kIdBits

    /// The samples-table key of this meter's sample `id`.
    uint64_t key(uint64_t id) const { return base + std::min(id, kMaxId); }
    /// The sample id of one of this meter's keys.
    uint64_t id_of(uint64_t key) const { return key - base; }

    sqlite3_stmt* insert = nullptr;        // ?1 key, ?2 ts, ?3 record
    sqlite3_stmt* select_new = nullptr;    // key, ts, record with ?1 < key < ?3, ?2 at most
    sqlite3_stmt* select_one = nullptr;    // ts, record of key ?1
    sqlite3_stmt* delete_sized = nullptr;  // deletes key ?1, returns its payload bytes
    sqlite3_stmt* delete_one = nullptr;    // deletes key ?1
    sqlite3_stmt* delete_range = nullptr;  // deletes keys ?1..?2
    sqlite3_stmt* oldest = nullptr;        // the ?1 smallest keys in ?2..?3
};

/// The meters of one buffer database and their ranges, registered on first use.
class MeterTables {
  public:
    /// `fail` turns a SQLite result code and an action into the store's error.
    using Fail = std::function<Status(int rc, const char* what)>;
    MeterTables(sqlite3* db, Fail fail) : db_(db), fail_(std::move(fail)) {}
    ~MeterTables();
    MeterTables(const MeterTables&) = delete;
    MeterTables& operator=(const MeterTables&) = delete;

    /// The tables (samples and the meter registry), created when missing.
    static const char* schema();
    /// Prepares the statements and loads the registry.
    Status load();
    /// The range of `meter`, registered if it has none.
    Result<MeterTable*> ensure(const std::string& meter);
    /// The range of `meter`, or nullptr when it has none.
    MeterTable* find(const std::string& meter);
    /// Every registered meter's range, by meter name.
    const std::map<std::string, std::unique_ptr<MeterTable>>& all() const { return tables_; }

  private:
    MeterTable* add(const std::string& meter, int64_t number);

    sqlite3* db_;
    Fail fail_;
    MeterTable shared_;  // the prepared statements every MeterTable points to
    std::map<std::string, std::unique_ptr<MeterTable>> tables_;
    int64_t next_number_ = 1;
};

}  // namespace kaa
