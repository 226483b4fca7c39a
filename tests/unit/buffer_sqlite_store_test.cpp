// SqliteSampleStore tests: the MemoryStoreTest semantics against a real SQLite file in a
// temporary directory, plus persistence, orphaned meters, damaged files, unwritable paths,
// a full disk and the on-disk bound with each overflow policy.
#include <gtest/gtest.h>
#include <sched.h>
#include <sqlite3.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "daemon/buffer/buffer_file.hpp"
#include "daemon/buffer/sqlite/sqlite_sample_store.hpp"
#include "tests/fakes/log_capture.hpp"
#include "tests/unit/sqlite_store_fixture.hpp"

namespace kaa {
namespace {

TEST_F(SqliteStoreTest, ReleasedSamplesComeBackInOrder) {
    auto store = open();
    ASSERT_TRUE(store
                    ->append({BufferedSample{0, 1, "a"}, BufferedSample{0, 2, "b"},
                              BufferedSample{0, 3, "c"}})
                    .ok());
    auto first = store->take(0, 2);
    auto rest = store->take(0, 5);
    ASSERT_EQ(rest.size(), 1u);
    EXPECT_FALSE(store->has_pending(0));
    store->release({first[0].id, first[1].id});
    EXPECT_TRUE(store->has_pending(0));
    auto again = store->take(0, 5);
    ASSERT_EQ(again.size(), 2u);
    EXPECT_EQ(again[0].record, "a");
    EXPECT_EQ(again[1].record, "b");
    EXPECT_EQ(again[0].read_ms, 1);
    EXPECT_FALSE(store->has_pending(0));
}

TEST_F(SqliteStoreTest, TakesEachMetersOldestSamplesAndCountsBytes) {
    auto store = open({"a", "b"});
    ASSERT_TRUE(store
                    ->append({BufferedSample{0, 1, "a1"}, BufferedSample{1, 1, "b1"},
                              BufferedSample{0, 2, "a2"}})
                    .ok());
    ASSERT_TRUE(store->append({BufferedSample{1, 2, "b22"}, BufferedSample{0, 3, "a3"}}).ok());
    EXPECT_EQ(store->stats().samples, 5u);
    EXPECT_EQ(store->stats().bytes, 11u);
    auto a = store->take(0, 2);
    ASSERT_EQ(a.size(), 2u);
    EXPECT_EQ(a[0].record, "a1");
    EXPECT_EQ(a[1].record, "a2");
    EXPECT_LT(a[0].id, a[1].id);
    EXPECT_EQ(a[0].meter_index, 0u);
    auto b = store->take(1, 10);
    ASSERT_EQ(b.size(), 2u);
    EXPECT_EQ(b[1].record, "b22");
    EXPECT_FALSE(store->has_pending(1));
    EXPECT_TRUE(store->has_pending(0));
    ASSERT_TRUE(store->remove(ids_of(b)).ok());
    EXPECT_EQ(store->stats().samples, 3u);
    EXPECT_EQ(store->stats().bytes, 6u);
    EXPECT_TRUE(store->take(1, 10).empty());
}

TEST_F(SqliteStoreTest, UnknownIdsAndMetersAreHarmless) {
    auto store = open();
    ASSERT_TRUE(store->append({BufferedSample{0, 1, "a"}}).ok());
    store->release({12345});
    ASSERT_TRUE(store->remove({12345, 999}).ok());
    ASSERT_TRUE(store->remove({}).ok());
    EXPECT_TRUE(store->take(7, 10).empty());
    EXPECT_FALSE(store->has_pending(7));
    EXPECT_EQ(store->stats().samples, 1u);
    auto bad = store->append({BufferedSample{3, 1, "x"}});
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().kind, ErrorKind::kInvalidArgument);
    EXPECT_EQ(store->stats().samples, 1u);
    auto taken = store->take(0, 10);
    ASSERT_EQ(taken.size(), 1u);
    ASSERT_TRUE(store->remove(ids_of(taken)).ok());
    ASSERT_TRUE(store->remove(ids_of(taken)).ok());  // twice: already gone
    store->release(ids_of(taken));
    EXPECT_FALSE(store->has_pending(0));
    EXPECT_EQ(store->stats().samples, 0u);
}

TEST_F(SqliteStoreTest, RemovingPendingSamplesKeepsCountsRight) {
    auto store = open();
    ASSERT_TRUE(store->append({BufferedSample{0, 1, "a"}, BufferedSample{0, 2, "b"}}).ok());
    auto first = store->take(0, 1);
    store->release(ids_of(first));
    ASSERT_TRUE(store->remove({first[0].id, first[0].id + 1}).ok());  // both pending
    EXPECT_FALSE(store->has_pending(0));
    EXPECT_TRUE(store->take(0, 10).empty());
}

TEST_F(SqliteStoreTest, SamplesIdsAndOrderSurviveAReopen) {
    std::vector<uint64_t> ids;
    {
        auto store = open({"a", "b"});
        ASSERT_TRUE(store
                        ->append({BufferedSample{0, 1, "a1"}, BufferedSample{1, 1, "b1"},
                                  BufferedSample{0, 2, "a2"}, BufferedSample{0, 3, "a3"}})
                        .ok());
        auto taken = store->take(0, 2);  // in flight when the process ends
        ids = ids_of(taken);
        auto b = store->take(1, 1);
        ASSERT_TRUE(store->remove(ids_of(b)).ok());
    }
    auto store = open({"b", "a"});  // indices changed: rows follow the names
    EXPECT_EQ(store->stats().samples, 3u);
    EXPECT_EQ(store->stats().bytes, 6u);
    EXPECT_FALSE(store->has_pending(0));
    EXPECT_TRUE(store->has_pending(1));
    ASSERT_TRUE(store->append({BufferedSample{1, 4, "a4"}}).ok());
    auto again = store->take(1, 10);
    ASSERT_EQ(again.size(), 4u);
    EXPECT_EQ(again[0].id, ids[0]);
    EXPECT_EQ(again[1].id, ids[1]);
    EXPECT_EQ(again[2].record, "a3");
    EXPECT_EQ(again[3].record, "a4");
    EXPECT_GT(again[3].id, again[2].id);
    EXPECT_EQ(again[3].meter_index, 1u);
}

TEST_F(SqliteStoreTest, KillDashNineLosesNothingThatWasAppended) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {  // appends, takes some, and dies without closing anything
        auto r = try_open({"a"});
        if (!r.ok())
            ::_exit(2);
        fill(*r.value(), 30, 100);
        r.value()->take(0, 500);
        ::kill(::getpid(), SIGKILL);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status));
    auto store = open();
    EXPECT_EQ(store->stats().samples, 3000u);
    auto all = store->take(0, 5000);
    ASSERT_EQ(all.size(), 3000u);
    EXPECT_EQ(all.front().read_ms, 0);
    EXPECT_EQ(all.back().read_ms, 2999);
}

TEST_F(SqliteStoreTest, TheOpeningLogSaysCreatedOpenedOrCheckedAfterAnUncleanStop) {
    {
        fakes::LogCapture log;
        auto store = open({"a"});
        fill(*store, 1, 10);
        EXPECT_EQ(log.count(" created: 0 samples"), 1u) << log.text();
        EXPECT_EQ(log.count("not closed cleanly"), 0u) << "a brand-new buffer";
    }
    {
        fakes::LogCapture log;
        auto store = open({"a"});
        EXPECT_EQ(log.count(" opened: 10 samples"), 1u) << log.text();
    }
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {  // opens the buffer and dies without closing it
        auto r = try_open({"a"});
        ::kill(::getpid(), r.ok() ? SIGKILL : SIGTERM);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    fakes::LogCapture log;
    auto store = open({"a"});
    EXPECT_EQ(log.count(" opened and checked (it was not closed cleanly): 10 samples"), 1u)
        << log.text();
}

TEST_F(SqliteStoreTest, ABufferFileDeletedWhileRunningIsWrittenAgainWithEverySample) {
    std::vector<uint64_t> in_flight;
    {
        auto store = open({"a", "b"});
        fill(*store, 3, 100);
        ASSERT_TRUE(store->append({BufferedSample{1, 7, "b7"}}).ok());
        in_flight = ids_of(store->take(0, 50));
        EXPECT_TRUE(store->check_file().ok()) << "nothing changed: nothing to do";
        // The operator deletes the buffer (and its WAL) while the gateway runs.
        ASSERT_EQ(::unlink(path.c_str()), 0);
        std::remove((path + "-wal").c_str());
        fakes::LogCapture log;
        ASSERT_TRUE(store->check_file().ok());
        EXPECT_EQ(log.count("was deleted while the gateway ran"), 1u) << log.text();
        EXPECT_EQ(log.count("written again with its 301 samples; none was lost"), 1u);
        EXPECT_TRUE(std::filesystem::exists(path));
        // It goes on working on the new file: the samples in flight are confirmed, new
        // ones are kept.
        ASSERT_TRUE(store->remove(in_flight).ok());
        ASSERT_TRUE(store->append({BufferedSample{0, 9999, "new"}}).ok());
        EXPECT_EQ(store->stats().samples, 252u);
    }
    auto store = open({"a", "b"});
    EXPECT_EQ(store->stats().samples, 252u);
    const auto rest = store->take(0, 1000);
    ASSERT_EQ(rest.size(), 251u);
    EXPECT_EQ(rest.front().read_ms, 50);
    EXPECT_EQ(rest.back().record, "new");
    EXPECT_EQ(store->take(1, 10).size(), 1u);
}

TEST_F(SqliteStoreTest, ABufferFileReplacedWhileRunningIsKeptAsideNotOverwritten) {
    auto store = open({"a"});
    fill(*store, 1, 10);
    ASSERT_EQ(::unlink(path.c_str()), 0);
    std::ofstream(path) << "someone else's file";
    fakes::LogCapture log;
    ASSERT_TRUE(store->check_file().ok());
    EXPECT_EQ(log.count("was replaced by another file while the gateway ran"), 1u) << log.text();
    EXPECT_EQ(log.count("moved the file found at"), 1u);
    EXPECT_EQ(store->stats().samples, 10u);
    int kept = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        std::ifstream in(entry.path());
        std::string text;
        std::getline(in, text);
        kept += text == "someone else's file" ? 1 : 0;
    }
    EXPECT_EQ(kept, 1);
}

TEST_F(SqliteStoreTest, MovingAsideNeverOverwritesAnEarlierCopy) {
    for (int i = 0; i < 2; ++i) {
        std::ofstream(path) << "not a database " << i;
        std::ofstream(path + "-wal") << "stale";
        auto moved = buffer_file::move_aside(path, 1700000000);
        ASSERT_TRUE(moved.ok()) << moved.error().message;
        EXPECT_EQ(moved.value(), path + (i == 0 ? ".corrupt-1700000000" : ".corrupt-1700000000-2"));
        EXPECT_TRUE(fs::exists(moved.value() + "-wal"));
        EXPECT_FALSE(fs::exists(path + "-wal"));
    }
}

TEST_F(SqliteStoreTest, ABufferOfTheFirstSchemaIsMigratedWithEverySample) {
    // Schema 1: the samples table alone.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(
        sqlite3_exec(db,
                     "PRAGMA journal_mode=WAL;"
                     "CREATE TABLE samples(id INTEGER PRIMARY KEY, meter TEXT NOT NULL,"
                     " ts INTEGER NOT NULL, json TEXT NOT NULL);"
                     "CREATE INDEX samples_by_meter ON samples(meter, id);"
                     "INSERT INTO samples VALUES(1, 'b', 10, '{\"timestamp\":10}'),"
                     " (2, 'a', 20, '{\"timestamp\":20}'), (3, 'b', 30, '{\"timestamp\":30}');"
                     "PRAGMA user_version=1;",
                     nullptr, nullptr, nullptr),
        SQLITE_OK);
    sqlite3_close(db);
    auto store = open({"a", "b"});
    EXPECT_EQ(store->stats().samples, 3u);
    auto b = store->take(1, 10);
    ASSERT_EQ(b.size(), 2u);
    EXPECT_EQ(b[0].id, 1u);
    EXPECT_EQ(b[0].record, "{}");  // the read time is in read_ms, not in the record
    EXPECT_EQ(b[0].read_ms, 10);
    EXPECT_EQ(b[1].read_ms, 30);
    ASSERT_TRUE(store->append({sample(0, 40)}).ok());
    auto a = store->take(0, 10);
    ASSERT_EQ(a.size(), 2u);
    EXPECT_EQ(a[1].id, 4u);  // ids go on after the migrated ones
}

TEST_F(SqliteStoreTest, ABufferOfTheSecondSchemaIsMigratedWithRecordsWithoutTheReadTime) {
    // Schema 2: samples(id, meter, ts, json) holding Kaa's payload, plus delivered and state.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(
                  db,
                  "PRAGMA journal_mode=WAL;"
                  "CREATE TABLE samples(id INTEGER PRIMARY KEY, meter TEXT NOT NULL,"
                  " ts INTEGER NOT NULL, json TEXT NOT NULL);"
                  "CREATE INDEX samples_by_meter ON samples(meter, id);"
                  "CREATE TABLE delivered(meter TEXT NOT NULL, first_id INTEGER NOT NULL,"
                  " last_id INTEGER NOT NULL, samples INTEGER NOT NULL, bytes INTEGER NOT NULL,"
                  " PRIMARY KEY(meter, first_id)) WITHOUT ROWID;"
                  "CREATE TABLE state(key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"
                  "INSERT INTO state VALUES('clean', 0);"
                  "INSERT INTO samples VALUES"
                  " (1, 'a', 1700000000000, '{\"timestamp\":1700000000000,\"voltage\":230.0}'),"
                  " (2, 'a', 1700000001000, '{\"timestamp\":1700000001000,\"voltage\":230.1}'),"
                  " (3, 'a', 1700000002000,"
                  "  '{\"timestamp\":1700000002000,\"energy\":1e+20,\"voltage\":null}'),"
                  " (4, 'b', 1700000003000, '{\"timestamp\":1700000003000}');"
                  "INSERT INTO delivered VALUES('a', 1, 1, 1, 43);"
                  "PRAGMA user_version=2;",
                  nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
    auto store = open({"a", "b"});
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->stats().samples, 3u);  // sample 1 was delivered
    EXPECT_EQ(store->stats().bytes,
              std::string("{\"voltage\":230.1}{\"energy\":1e+20,\"voltage\":null}{}").size());
    auto a = store->take(0, 10);
    ASSERT_EQ(a.size(), 2u);
    EXPECT_EQ(a[0].id, 2u);
    EXPECT_EQ(a[0].read_ms, 1700000001000);
    EXPECT_EQ(a[0].record, "{\"voltage\":230.1}");
    EXPECT_EQ(a[1].read_ms, 1700000002000);
    EXPECT_EQ(a[1].record, "{\"energy\":1e+20,\"voltage\":null}");  // number text as written
    auto b = store->take(1, 10);
    ASSERT_EQ(b.size(), 1u);
    EXPECT_EQ(b[0].read_ms, 1700000003000);
    EXPECT_EQ(b[0].record, "{}");
}

TEST_F(SqliteStoreTest, ABufferOfTheThirdSchemaKeepsItsRangesAndLosesTheReadTimeInRecords) {
    // Schema 3 (the previous release): key ranges per meter, column json with Kaa's payload.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(
                  db,
                  "PRAGMA journal_mode=WAL;"
                  "CREATE TABLE samples(key INTEGER PRIMARY KEY, ts INTEGER NOT NULL,"
                  " json TEXT NOT NULL);"
                  "CREATE TABLE meters(name TEXT PRIMARY KEY, number INTEGER NOT NULL UNIQUE)"
                  " WITHOUT ROWID;"
                  "CREATE TABLE delivered(meter TEXT NOT NULL, first_id INTEGER NOT NULL,"
                  " last_id INTEGER NOT NULL, samples INTEGER NOT NULL, bytes INTEGER NOT NULL,"
                  " PRIMARY KEY(meter, first_id)) WITHOUT ROWID;"
                  "CREATE TABLE state(key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"
                  "INSERT INTO state VALUES('clean', 1);"
                  "INSERT INTO meters VALUES('a', 1);"
                  "INSERT INTO samples VALUES"
                  " ((1 << 44) + 5, 50, '{\"timestamp\":50,\"v\":-0.5}'),"
                  " ((1 << 44) + 6, 60, '{\"timestamp\":60,\"v\":230.0,\"s\":\"x,y\"}');"
                  "PRAGMA user_version=3;",
                  nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
    {
        auto store = open({"a"});
        ASSERT_NE(store, nullptr);
        auto a = store->take(0, 10);
        ASSERT_EQ(a.size(), 2u);
        EXPECT_EQ(a[0].id, 5u);
        EXPECT_EQ(a[0].read_ms, 50);
        EXPECT_EQ(a[0].record, "{\"v\":-0.5}");
        EXPECT_EQ(a[1].record, "{\"v\":230.0,\"s\":\"x,y\"}");
        ASSERT_TRUE(store->append({BufferedSample{0, 70, "{\"timestamp\":1}"}}).ok());
    }
    // Opened again, nothing is migrated twice: a record of this schema stays as it is.
    auto store = open({"a"});
    auto a = store->take(0, 10);
    ASSERT_EQ(a.size(), 3u);
    EXPECT_EQ(a[2].id, 7u);
    EXPECT_EQ(a[2].record, "{\"timestamp\":1}");
}

TEST_F(SqliteStoreTest, OrphanedMetersAreKeptCountedAndDeliveredWhenBack) {
    {
        auto store = open({"a", "gone"});
        ASSERT_TRUE(store
                        ->append({BufferedSample{0, 1, "a1"}, BufferedSample{1, 1, "g1"},
                                  BufferedSample{1, 2, "g2"}})
                        .ok());
    }
    {
        auto store = open({"a"});
        EXPECT_EQ(store->orphaned_samples(), 2u);
        EXPECT_EQ(store->stats().samples, 3u);
        auto a = store->take(0, 10);
        ASSERT_EQ(a.size(), 1u);
        EXPECT_EQ(a[0].record, "a1");
        ASSERT_TRUE(store->remove(ids_of(a)).ok());
    }
    auto store = open({"gone", "a"});
    EXPECT_EQ(store->orphaned_samples(), 0u);
    auto g = store->take(0, 10);
    ASSERT_EQ(g.size(), 2u);
    EXPECT_EQ(g[0].record, "g1");
}

TEST_F(SqliteStoreTest, DamagedHeaderIsMovedAsideAndAFreshBufferOpens) {
    {
        auto store = open();
        fill(*store, 1, 10);
    }
    {
        std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
        const std::string garbage(100, '\x5a');
        f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
    }
    auto store = open();
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->stats().samples, 0u);
    int moved = 0;
    for (const auto& entry : fs::directory_iterator(dir)) {
        if (entry.path().filename().string().rfind("buffer.db.corrupt-", 0) == 0)
            ++moved;
    }
    EXPECT_EQ(moved, 1);
    ASSERT_TRUE(store->append({sample(0, 1)}).ok());
}

TEST_F(SqliteStoreTest, DamagedPagesAreMovedAsideToo) {
    {
        auto store = open({"a"});
        fill(*store, 20, 100);
    }
    ASSERT_GT(fs::file_size(path), 16 * 4096u);
    {
        std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(4096);  // page 2 onwards: the table and index b-trees
        const std::string garbage(8 * 4096, '\x7f');
        f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
    }
    auto store = open();
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->stats().samples, 0u);
}

TEST_F(SqliteStoreTest, MissingDirectoryIsAClearError) {
    path = dir + "/missing/buffer.db";
    auto r = try_open({"a"});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, ErrorKind::kIo);
    EXPECT_NE(r.error().message.find(path), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("does not exist"), std::string::npos) << r.error().message;
}

TEST_F(SqliteStoreTest, ParentThatIsAFileIsAClearError) {
    std::ofstream(dir + "/file") << "x";
    path = dir + "/file/buffer.db";
    auto r = try_open({"a"});
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find(path), std::string::npos) << r.error().message;
}

TEST_F(SqliteStoreTest, UnwritableDirectoryIsAClearError) {
    if (::geteuid() == 0) {
        path = "/sys/kaa-gateway-test-buffer.db";  // root bypasses chmod; sysfs refuses files
    } else {
        ASSERT_EQ(::chmod(dir.c_str(), 0555), 0);
    }
    auto r = try_open({"a"});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, ErrorKind::kIo);
    EXPECT_NE(r.error().message.find(path), std::string::npos) << r.error().message;
    EXPECT_TRUE(r.error().message.find("not writable") != std::string::npos ||
                r.error().message.find("permission denied") != std::string::npos)
        << r.error().message;
}

TEST_F(SqliteStoreTest, FailedWriteIsAnErrorAndTheStoreKeepsWorking) {
    auto store = open();
    fill(*store, 1, 10);
    const StoreStats before = store->stats();
    // A file size limit makes the next WAL write fail (EFBIG: an I/O error).
    rlimit old{};
    ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
    auto* previous = std::signal(SIGXFSZ, SIG_IGN);
    rlimit tight = old;
    tight.rlim_cur = disk_bytes();
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &tight), 0);
    std::vector<BufferedSample> big;
    for (int i = 0; i < 2000; ++i)
        big.push_back(sample(0, 100 + i));
    auto st = store->append(big);
    ::setrlimit(RLIMIT_FSIZE, &old);
    std::signal(SIGXFSZ, previous);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().kind, ErrorKind::kIo);
    EXPECT_NE(st.error().message.find(path), std::string::npos) << st.error().message;
    EXPECT_NE(st.error().message.find("I/O error"), std::string::npos) << st.error().message;
    EXPECT_EQ(store->stats().samples, before.samples);
    EXPECT_EQ(store->stats().bytes, before.bytes);
    ASSERT_TRUE(store->append({sample(0, 99)}).ok());
    EXPECT_EQ(store->take(0, 100).size(), 11u);
}

TEST_F(SqliteStoreTest, FullDiskSaysDiskFull) {
    // A child process mounts a 256 KiB tmpfs over the test directory in its own mount
    // namespace (root only), then appends until the disk is full.
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        if (::unshare(CLONE_NEWNS) != 0 ||
            ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
            ::mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=256k") != 0) {
            ::_exit(77);
        }
        auto r = try_open({"a"});
        if (!r.ok())
            ::_exit(2);
        for (int round = 0; round < 100; ++round) {
            std::vector<BufferedSample> v;
            for (int i = 0; i < 100; ++i)
                v.push_back(sample(0, round * 100 + i));
            if (auto st = r.value()->append(v); !st) {
                std::fprintf(stderr, "append: %s\n", st.error().message.c_str());
                const bool clear = st.error().message.find("disk full") != std::string::npos &&
                                   st.error().message.find(path) != std::string::npos;
                ::_exit(clear ? 0 : 3);
            }
        }
        ::_exit(4);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77)
        GTEST_SKIP() << "cannot mount a small tmpfs here (needs root)";
    EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST_F(SqliteStoreTest, DropOldestKeepsTheNewestWithinTheBudget) {
    auto store = open({"a"}, kMiB, config::Overflow::kDropOldest);
    fill(*store, 100, 100);  // 10,000 samples of ~270 bytes: far more than 1 MiB
    const StoreStats s = store->stats();
    EXPECT_GT(s.samples, 1000u);
    EXPECT_LT(s.samples, 4000u);
    EXPECT_EQ(s.samples + s.dropped_overflow, 10000u);
    EXPECT_LE(disk_bytes(), kMiB) << fs::file_size(path) << " + " << fs::file_size(path + "-wal");
    auto all = store->take(0, 10000);
    ASSERT_EQ(all.size(), s.samples);
    for (size_t i = 0; i < all.size(); ++i) {  // exactly the newest, in order
        EXPECT_EQ(all[i].read_ms, static_cast<int64_t>(10000 - s.samples + i));
    }
}

TEST_F(SqliteStoreTest, DropOldestNeverDropsSamplesInFlight) {
    auto store = open({"a"}, kMiB, config::Overflow::kDropOldest);
    fill(*store, 30, 100);
    const uint64_t kept = store->stats().samples;
    auto in_flight = store->take(0, kept);  // everything is in flight
    ASSERT_EQ(in_flight.size(), kept);
    std::vector<BufferedSample> more;
    for (int i = 0; i < 100; ++i)
        more.push_back(sample(0, 5000 + i));
    const uint64_t dropped = store->stats().dropped_overflow;
    ASSERT_TRUE(store->append(more).ok());
    EXPECT_EQ(store->stats().samples + store->stats().dropped_overflow, kept + dropped + 100);
    EXPECT_GE(store->stats().samples, kept);  // none of the taken rows went
    const uint64_t accepted = 100 - (store->stats().dropped_overflow - dropped);
    ASSERT_TRUE(store->remove(ids_of(in_flight)).ok());
    EXPECT_EQ(store->stats().samples, accepted);
    store->release(ids_of(in_flight));  // already delivered: harmless
    EXPECT_EQ(store->take(0, 1000).size(), accepted);
}

TEST_F(SqliteStoreTest, BoundHoldsWhileOneMeterDrainsAndOthersFill) {
    for (auto policy : {config::Overflow::kDropOldest, config::Overflow::kDropNewest}) {
        fs::remove(path);
        auto store = open({"a", "b", "c"}, kMiB, policy);
        uint64_t appended = 0, delivered = 0;
        for (int round = 0; round < 200; ++round) {
            std::vector<BufferedSample> v;
            for (int i = 0; i < 30; ++i)
                v.push_back(sample(static_cast<size_t>(i % 3), round));
            ASSERT_TRUE(store->append(v).ok());
            appended += v.size();
            if (round % 3 == 0) {  // meter a drains, leaving holes between b and c rows
                auto taken = store->take(0, 25);
                ASSERT_TRUE(store->remove(ids_of(taken)).ok());
                delivered += taken.size();
            }
            ASSERT_LE(disk_bytes(), kMiB) << "round " << round;
        }
        const StoreStats s = store->stats();
        EXPECT_GT(s.dropped_overflow, 0u);
        EXPECT_EQ(s.samples + s.dropped_overflow + delivered, appended);
    }
}

TEST_F(SqliteStoreTest, BoundHoldsForLargeSamplesArrivingInBursts) {
    // 8 meters of 2 KiB samples (a row fills half a page), appended a round at a time and,
    // as after a stalled main loop, ten rounds in one append: the WAL must stay within its
    // allowance whatever one append carries.
    for (auto policy : {config::Overflow::kDropOldest, config::Overflow::kDropNewest}) {
        fs::remove(path);
        auto store = open({"a", "b", "c", "d", "e", "f", "g", "h"}, kMiB, policy);
        uint64_t appended = 0;
        int64_t n = 0;
        for (int step = 0; step < 60; ++step) {
            const int rounds = step % 4 == 3 ? 10 : 1;
            std::vector<BufferedSample> v;
            for (int r = 0; r < rounds * 8; ++r, ++n)
                v.push_back(BufferedSample{static_cast<size_t>(r % 8), n, std::string(2000, 'x')});
            ASSERT_TRUE(store->append(v).ok());
            appended += v.size();
            ASSERT_LE(disk_bytes(), kMiB) << "step " << step << ": " << fs::file_size(path) << " + "
                                          << fs::file_size(path + "-wal");
        }
        const StoreStats s = store->stats();
        EXPECT_GT(s.dropped_overflow, 0u);
        EXPECT_EQ(s.samples + s.dropped_overflow, appended);
    }
}

TEST_F(SqliteStoreTest, DropNewestRefusesNewSamples) {
    auto store = open({"a"}, kMiB, config::Overflow::kDropNewest);
    fill(*store, 100, 100);
    const StoreStats s = store->stats();
    EXPECT_GT(s.samples, 1000u);
    EXPECT_EQ(s.samples + s.dropped_overflow, 10000u);
    EXPECT_LE(disk_bytes(), kMiB);
    auto all = store->take(0, 10000);
    ASSERT_EQ(all.size(), s.samples);
    for (size_t i = 0; i < all.size(); ++i) {  // exactly the oldest, in order
        EXPECT_EQ(all[i].read_ms, static_cast<int64_t>(i));
    }
    ASSERT_TRUE(store->remove(ids_of(all)).ok());
    ASSERT_TRUE(store->append({sample(0, 1)}).ok());  // room again once delivered
    EXPECT_EQ(store->stats().samples, 1u);
    EXPECT_EQ(store->stats().dropped_overflow, s.dropped_overflow);
}

}  // namespace
}  // namespace kaa
