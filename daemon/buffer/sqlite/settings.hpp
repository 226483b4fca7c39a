#pragma once
// Settings shared by the SQLite-backed store's source files.

#include <chrono>
#include <cstdint>

namespace kaa::sqlite_store {

inline constexpr const char* kComponent = "buffer";
// WAL + synchronous=NORMAL never corrupts and survives kill -9, but leaves commits unsynced
// until a checkpoint. So an append is committed FULL (the WAL fsynced, which makes every
// earlier commit durable too) when the last FULL commit is kSyncInterval old: at poll-round
// rates every append is fsynced; in bursts one in many is, and a power cut loses at most
// the appends of the last kSyncInterval. FULL on every commit measured 190,000 samples/s
// (100 per transaction) on an idle disk and 25,000 on a busy one (bench_store).
inline constexpr const char* kSynchronous = "PRAGMA synchronous=NORMAL";
inline constexpr auto kSyncInterval = std::chrono::milliseconds(100);
// Record header, cell pointers, rowid and the (meter, id) index entry, per row.
inline constexpr uint64_t kRowOverhead = 48;

}  // namespace kaa::sqlite_store
