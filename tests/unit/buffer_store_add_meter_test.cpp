// Meters added by a configuration reload: the next index, and their earlier samples back.
#include <stdlib.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "daemon/buffer/memory_sample_store.hpp"
#include "daemon/buffer/sqlite/sqlite_sample_store.hpp"

namespace kaa {
namespace {

namespace fs = std::filesystem;

BufferedSample sample(size_t meter, int64_t ts) {
    return BufferedSample{meter, ts, "{\"n\":" + std::to_string(ts) + "}"};
}

TEST(StoreAddMeterTest, SqliteAdoptsTheRowsOfAMeterRemovedEarlier) {
    std::string tmpl = (fs::temp_directory_path() / "kaa-add-meter-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    const std::string path = tmpl + "/buffer.db";
    {
        auto store = SqliteSampleStore::open(SqliteStoreOptions{path, {"a", "b"}});
        ASSERT_TRUE(store);
        ASSERT_TRUE(store.value()->append({sample(0, 1), sample(1, 2), sample(1, 3)}));
    }
    auto store = SqliteSampleStore::open(SqliteStoreOptions{path, {"a"}});
    ASSERT_TRUE(store);
    SqliteSampleStore& s = *store.value();
    EXPECT_EQ(s.orphaned_samples(), 2u);
    EXPECT_EQ(s.add_meter("c"), 1u);
    EXPECT_FALSE(s.has_pending(1));
    EXPECT_EQ(s.add_meter("b"), 2u);
    EXPECT_EQ(s.orphaned_samples(), 0u);
    ASSERT_TRUE(s.has_pending(2));
    const auto taken = s.take(2, 10);
    ASSERT_EQ(taken.size(), 2u);
    EXPECT_EQ(taken[0].read_ms, 2);
    EXPECT_EQ(taken[1].read_ms, 3);
    ASSERT_TRUE(s.append({sample(1, 4)}));
    EXPECT_EQ(s.take(1, 10).size(), 1u);
    store.value().reset();
    fs::remove_all(tmpl);
}

TEST(StoreAddMeterTest, MemoryStoreGivesTheNextIndex) {
    MemorySampleStore store(1, 1 << 20, config::Overflow::kDropOldest);
    EXPECT_EQ(store.add_meter("b"), 1u);
    ASSERT_TRUE(store.append({sample(1, 5)}));
    EXPECT_TRUE(store.has_pending(1));
    EXPECT_EQ(store.take(1, 10).size(), 1u);
}

}  // namespace
}  // namespace kaa
