// Live and backlog lanes, against both SampleStore implementations: what start_live()
// moves to the backlog, what each lane's take() returns and in which order, and that
// samples in flight, released or removed across a start_live() are neither lost nor
// taken twice.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "daemon/buffer/memory_sample_store.hpp"
#include "daemon/buffer/sqlite/sqlite_sample_store.hpp"
#include "tests/unit/store_test_helpers.hpp"

namespace kaa {
namespace {

namespace fs = std::filesystem;

using kaa::testing::ids_of;
using kaa::testing::stamps;

/// Runs every test against the in-memory store and against a SQLite file.
class StoreLanesTest : public ::testing::TestWithParam<bool> {
  protected:
    void SetUp() override {
        if (!GetParam()) {
            store = std::make_unique<MemorySampleStore>(2, 1 << 20, config::Overflow::kDropOldest);
            return;
        }
        std::string tmpl = (fs::temp_directory_path() / "kaa-lanes-XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        dir = tmpl;
        reopen();
    }
    void TearDown() override {
        store.reset();
        if (!dir.empty())
            fs::remove_all(dir);
    }
    void reopen() {
        store.reset();
        auto r = SqliteSampleStore::open(SqliteStoreOptions{
            (fs::path(dir) / "buffer.db").string(), {"heat", "water"}, 64ull << 20, {}});
        ASSERT_TRUE(r.ok()) << r.error().message;
        store = std::move(r.value());
    }
    void add(size_t meter, int64_t first, int count) {
        std::vector<BufferedSample> v;
        for (int i = 0; i < count; ++i)
            v.push_back(
                BufferedSample{meter, first + i, "{\"n\":" + std::to_string(first + i) + "}"});
        ASSERT_TRUE(store->append(v).ok());
    }

    std::string dir;
    std::unique_ptr<SampleStore> store;
};

TEST_P(StoreLanesTest, WhatWaitedIsBacklogAndNewSamplesAreLive) {
    add(0, 1, 3);
    store->start_live();
    add(0, 100, 2);
    EXPECT_TRUE(store->has_pending(0, Lane::kLive));
    EXPECT_TRUE(store->has_pending(0, Lane::kBacklog));
    EXPECT_FALSE(store->has_pending(1, Lane::kLive));
    EXPECT_EQ(stamps(store->take(0, 10, Lane::kLive)), (std::vector<int64_t>{100, 101}));
    EXPECT_FALSE(store->has_pending(0, Lane::kLive));
    auto first = store->take(0, 2, Lane::kBacklog);
    EXPECT_EQ(stamps(first), (std::vector<int64_t>{1, 2}));
    store->release(ids_of(first));
    EXPECT_EQ(stamps(store->take(0, 10, Lane::kBacklog)), (std::vector<int64_t>{1, 2, 3}));
    EXPECT_FALSE(store->has_pending(0, Lane::kBacklog));
}

TEST_P(StoreLanesTest, SamplesInFlightAtStartLiveAreNotTakenTwiceNorLost) {
    add(0, 1, 4);
    auto in_flight = store->take(0, 2, Lane::kLive);
    ASSERT_EQ(stamps(in_flight), (std::vector<int64_t>{1, 2}));
    store->start_live();
    add(0, 50, 1);
    EXPECT_EQ(stamps(store->take(0, 10, Lane::kBacklog)), (std::vector<int64_t>{3, 4}));
    EXPECT_FALSE(store->has_pending(0, Lane::kBacklog));
    store->release(ids_of(in_flight));
    EXPECT_TRUE(store->has_pending(0, Lane::kBacklog));
    EXPECT_EQ(stamps(store->take(0, 10, Lane::kBacklog)), (std::vector<int64_t>{1, 2}));
    EXPECT_EQ(stamps(store->take(0, 10, Lane::kLive)), (std::vector<int64_t>{50}));
    EXPECT_FALSE(store->has_pending(0));
}

TEST_P(StoreLanesTest, ReleasedLiveSamplesJoinTheBacklogAtTheNextStart) {
    add(1, 1, 2);
    store->start_live();
    add(1, 10, 3);
    auto live = store->take(1, 2, Lane::kLive);
    store->release(ids_of(live));
    store->start_live();
    EXPECT_FALSE(store->has_pending(1, Lane::kLive));
    EXPECT_EQ(stamps(store->take(1, 10, Lane::kBacklog)), (std::vector<int64_t>{1, 2, 10, 11, 12}));
}

TEST_P(StoreLanesTest, RemovingWaitingSamplesKeepsEachLanesCountRight) {
    add(0, 1, 3);
    store->start_live();
    add(0, 20, 1);
    auto all = store->take(0, 10);  // backlog before live
    ASSERT_EQ(stamps(all), (std::vector<int64_t>{1, 2, 3, 20}));
    store->release(ids_of(all));
    ASSERT_TRUE(store->remove({all[1].id, all[3].id}).ok());
    EXPECT_FALSE(store->has_pending(0, Lane::kLive));
    EXPECT_EQ(stamps(store->take(0, 10, Lane::kBacklog)), (std::vector<int64_t>{1, 3}));
    EXPECT_FALSE(store->has_pending(0));
    EXPECT_EQ(store->stats().samples, 2u);
}

/// Only the SQLite store survives a restart.
using StoreLanesRestartTest = StoreLanesTest;

TEST_P(StoreLanesRestartTest, AfterARestartTheBufferIsBacklog) {
    add(0, 1, 2);
    reopen();
    EXPECT_FALSE(store->has_pending(0, Lane::kLive));
    add(0, 7, 1);
    EXPECT_EQ(stamps(store->take(0, 10, Lane::kLive)), (std::vector<int64_t>{7}));
    EXPECT_EQ(stamps(store->take(0, 10, Lane::kBacklog)), (std::vector<int64_t>{1, 2}));
}

INSTANTIATE_TEST_SUITE_P(BothStores, StoreLanesTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Sqlite" : "Memory"; });
INSTANTIATE_TEST_SUITE_P(SqliteStore, StoreLanesRestartTest, ::testing::Values(true));

}  // namespace
}  // namespace kaa
