// SqliteSampleStore's deferred deletion and integrity flag: a batch confirmed whole is
// recorded as delivered (never taken again, also after a restart) and its rows deleted
// later by compact(); other confirmed samples are deleted at once; delivered rows make room
// before any waiting sample is dropped; the full check at open runs only after an unclean
// close.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/buffer/sqlite/sqlite_sample_store.hpp"
#include "tests/unit/sqlite_store_fixture.hpp"

namespace kaa {
namespace {

/// Rows in the samples table, read with a separate connection.
int64_t rows_on_disk(const std::string& path) {
    sqlite3* db = nullptr;
    int64_t rows = -1;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
        sqlite3_stmt* stmt = nullptr;
        if (sqlite3_prepare_v2(db, "SELECT count(*) FROM samples", -1, &stmt, nullptr) ==
                SQLITE_OK &&
            sqlite3_step(stmt) == SQLITE_ROW) {
            rows = sqlite3_column_int64(stmt, 0);
        }
        sqlite3_finalize(stmt);
    }
    sqlite3_close(db);
    return rows;
}

std::vector<int64_t> stamps(const std::vector<StoredSample>& taken) {
    std::vector<int64_t> out;
    for (const auto& s : taken)
        out.push_back(s.read_ms);
    return out;
}

using SqliteDeliveredTest = SqliteStoreTest;

/// Timestamps first, first + 1, ... (count of them).
std::vector<int64_t> range(int64_t first, int64_t count) {
    std::vector<int64_t> out;
    for (int64_t i = 0; i < count; ++i)
        out.push_back(first + i);
    return out;
}

TEST_F(SqliteDeliveredTest, AWholeBacklogBatchIsRecordedDeliveredAndItsRowsDeletedByCompact) {
    auto store = open();
    fill(*store, 1, 100);
    auto batch = store->take(0, 100);
    ASSERT_TRUE(store->remove(ids_of(batch)).ok());
    EXPECT_EQ(store->stats().samples, 0u);
    EXPECT_EQ(store->stats().bytes, 0u);
    EXPECT_EQ(store->delivered_rows(), 100u);
    EXPECT_EQ(rows_on_disk(path), 100);  // still there: deleted later
    EXPECT_FALSE(store->has_pending(0));
    EXPECT_FALSE(store->compact(4));  // one run: deleted whole even past the step's size
    EXPECT_EQ(store->delivered_rows(), 0u);
    EXPECT_EQ(rows_on_disk(path), 0);
}

TEST_F(SqliteDeliveredTest, ASmallLiveBatchIsDeletedAtOnce) {
    auto store = open();
    fill(*store, 1, 5);
    ASSERT_TRUE(store->remove(ids_of(store->take(0, 5))).ok());
    EXPECT_EQ(store->delivered_rows(), 0u);
    EXPECT_EQ(rows_on_disk(path), 0);
}

TEST_F(SqliteDeliveredTest, DeliveredRowsAreNeverSentAgainAfterARestart) {
    {
        auto store = open();
        fill(*store, 1, 100);
        auto first = store->take(0, 40);
        ASSERT_TRUE(store->remove(ids_of(first)).ok());
        store->start_live();  // a reconnect rewinds the backlog over the delivered run
        auto rest = store->take(0, 100, Lane::kBacklog);
        EXPECT_EQ(stamps(rest), range(40, 60));
        store->release(ids_of(rest));
    }
    auto store = open();
    EXPECT_EQ(store->stats().samples, 60u);
    EXPECT_EQ(store->delivered_rows(), 40u);
    EXPECT_EQ(stamps(store->take(0, 1000)), range(40, 60));
    EXPECT_FALSE(store->compact(1000));
    EXPECT_EQ(rows_on_disk(path), 60);
}

TEST_F(SqliteDeliveredTest, ABatchThatWasSentAgainIsDeletedAtOnce) {
    auto store = open();
    fill(*store, 1, 80);
    auto first = store->take(0, 40);
    store->release(ids_of(first));  // no answer: sent again
    auto again = store->take(0, 40);
    ASSERT_EQ(ids_of(again), ids_of(first));
    ASSERT_TRUE(store->remove(ids_of(again)).ok());
    EXPECT_EQ(store->delivered_rows(), 0u);
    EXPECT_EQ(rows_on_disk(path), 40);
    EXPECT_EQ(store->stats().samples, 40u);
}

TEST_F(SqliteDeliveredTest, APartlyConfirmedBatchIsDeletedAtOnceAndTheRestStays) {
    auto store = open();
    fill(*store, 1, 60);
    auto batch = store->take(0, 60);
    ASSERT_TRUE(store->remove({batch[0].id, batch[1].id}).ok());
    EXPECT_EQ(store->delivered_rows(), 0u);
    EXPECT_EQ(rows_on_disk(path), 58);
    const auto ids = ids_of(batch);
    store->release(std::vector<uint64_t>(ids.begin() + 2, ids.end()));
    EXPECT_EQ(stamps(store->take(0, 100)), range(2, 58));
}

TEST_F(SqliteDeliveredTest, DeliveredRowsMakeRoomBeforeAnyWaitingSampleIsDropped) {
    auto store = open({"a"}, 2 * kMiB);
    fill(*store, 1, 1000);  // well under half the budget: a confirmed batch is recorded
    auto batch = store->take(0, 500);
    ASSERT_TRUE(store->remove(ids_of(batch)).ok());
    ASSERT_EQ(store->delivered_rows(), 500u);
    int n = 1000;
    bool emptied_before_a_drop = false;
    while (store->stats().dropped_overflow == 0 && n < 40000) {
        ASSERT_TRUE(store->append({sample(0, n++)}).ok());
        emptied_before_a_drop = emptied_before_a_drop || (store->delivered_rows() == 0 &&
                                                          store->stats().dropped_overflow == 0);
    }
    ASSERT_GT(store->stats().dropped_overflow, 0u) << "the budget was never reached";
    EXPECT_TRUE(emptied_before_a_drop);
    EXPECT_EQ(store->delivered_rows(), 0u);
    // Near the bound a confirmed batch goes at once: its pages are needed.
    auto late = store->take(0, 100);
    ASSERT_TRUE(store->remove(ids_of(late)).ok());
    EXPECT_EQ(store->delivered_rows(), 0u);
}

TEST_F(SqliteDeliveredTest, TheFullCheckRunsOnlyAfterAnUncleanClose) {
    { auto first = open(); }
    {
        auto clean = open();
        EXPECT_FALSE(clean->checked_at_open());
        fill(*clean, 1, 3);
    }
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        auto r = try_open({"a"});
        _exit(r.ok() ? 0 : 1);  // no destructor: like kill -9
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_EQ(WEXITSTATUS(status), 0);
    auto after_kill = open();
    EXPECT_TRUE(after_kill->checked_at_open());
    EXPECT_EQ(after_kill->stats().samples, 3u);
}

}  // namespace
}  // namespace kaa

namespace kaa {
namespace {

using SqliteOldestTest = SqliteStoreTest;

TEST_F(SqliteOldestTest, TheOldestWaitingSampleStepsOverDeliveredRowsNotYetDeleted) {
    auto store = open({"a", "b"});
    EXPECT_FALSE(store->oldest_read_ms());
    fill(*store, 1, 100);  // meter a, read at 0..99
    ASSERT_TRUE(store->append({sample(1, 70)}).ok());
    EXPECT_EQ(store->oldest_read_ms(), 0);
    store->start_live();  // a backlog: its confirmed batches are kept until compact()
    auto batch = store->take(0, 60);
    ASSERT_TRUE(store->remove(ids_of(batch)).ok());
    ASSERT_GT(store->delivered_rows(), 0u);
    EXPECT_EQ(store->oldest_read_ms(), 60);
    ASSERT_TRUE(store->remove(ids_of(store->take(0, 40))).ok());
    EXPECT_EQ(store->oldest_read_ms(), 70);  // meter b's
    ASSERT_TRUE(store->remove(ids_of(store->take(1, 1))).ok());
    EXPECT_FALSE(store->oldest_read_ms());
    while (store->compact(1000)) {
    }
    EXPECT_FALSE(store->oldest_read_ms());
}

}  // namespace
}  // namespace kaa
