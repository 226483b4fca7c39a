// The buffer's deferred fsync: appends committed without one (within the sync interval of
// the last) are reported due, and sync() makes them durable, so that a quiet spell after a
// burst does not leave the last readings unsynced until the next append.
#include <gtest/gtest.h>

#include <chrono>

#include "daemon/buffer/sqlite/settings.hpp"
#include "daemon/buffer/sqlite/sqlite_sample_store.hpp"
#include "tests/unit/sqlite_store_fixture.hpp"

namespace kaa {
namespace {

using std::chrono::steady_clock;

/// The store in a fresh directory (a suite name of its own in this binary).
class BufferSyncTest : public SqliteStoreTest {};

TEST_F(BufferSyncTest, AppendsCommittedWithoutAnFsyncAreDueWithinTheIntervalAndSyncClearsThem) {
    auto store = open();
    ASSERT_TRUE(store->append({sample(0, 1)}).ok());
    EXPECT_FALSE(store->sync_due()) << "the first commit is a FULL one: nothing is due";

    const auto before = steady_clock::now();
    ASSERT_TRUE(store->append({sample(0, 2)}).ok());  // right after: committed NORMAL
    const auto due = store->sync_due();
    ASSERT_TRUE(due);
    EXPECT_LE(*due, before + sqlite_store::kSyncInterval)
        << "due no later than the interval after the FULL";

    ASSERT_TRUE(store->sync().ok());
    EXPECT_FALSE(store->sync_due());
    EXPECT_TRUE(store->sync().ok()) << "nothing to sync is no failure";

    ASSERT_TRUE(store->append({sample(0, 3)}).ok());  // within the interval of the sync
    ASSERT_TRUE(store->sync_due());
    EXPECT_GE(*store->sync_due(), before);
    const auto taken = store->take(0, 10);
    ASSERT_EQ(taken.size(), 3u);
    ASSERT_TRUE(store->remove(ids_of(taken)).ok());
}

}  // namespace
}  // namespace kaa
