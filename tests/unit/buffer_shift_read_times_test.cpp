// After the clock is synchronised, the store corrects the read times of the samples it
// took in this run (read before the sync), and only those: samples kept from an earlier
// run keep theirs; the correction survives a restart; memory and spill stores do the same.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "daemon/buffer/memory_sample_store.hpp"
#include "daemon/buffer/spill_store.hpp"
#include "tests/fakes/fake_clock.hpp"
#include "tests/unit/sqlite_store_fixture.hpp"

namespace kaa {
namespace {

using ::testing::ElementsAre;

/// Its own suite name: gtest needs one fixture class per suite across the binary.
class ShiftReadTimesTest : public SqliteStoreTest {};

/// The read times of a meter's samples, oldest first (taken, then put back).
std::vector<int64_t> read_times(SampleStore& store, size_t meter) {
    const std::vector<StoredSample> taken = store.take(meter, 100);
    std::vector<int64_t> out;
    for (const StoredSample& s : taken)
        out.push_back(s.read_ms);
    store.release(ids_of(taken));
    return out;
}

TEST_F(ShiftReadTimesTest, ShiftCorrectsThisRunsSamplesOnlyAndSurvivesARestart) {
    {
        auto earlier = open({"a", "b"});
        ASSERT_TRUE(earlier->append({sample(0, 100), sample(1, 200)}).ok());
    }
    {
        auto store = open({"a", "b"});
        ASSERT_TRUE(store->append({sample(0, 1000), sample(1, 2000), sample(0, 1001)}).ok());
        ASSERT_TRUE(store->shift_read_times(86'400'000).ok());
        EXPECT_THAT(read_times(*store, 0), ElementsAre(100, 86'401'000, 86'401'001));
        EXPECT_THAT(read_times(*store, 1), ElementsAre(200, 86'402'000));
    }
    auto reopened = open({"a", "b"});
    EXPECT_THAT(read_times(*reopened, 0), ElementsAre(100, 86'401'000, 86'401'001));
    ASSERT_TRUE(reopened->shift_read_times(-5).ok());
    EXPECT_THAT(read_times(*reopened, 1), ElementsAre(200, 86'402'000))
        << "the samples of earlier runs are never moved";
}

TEST(MemoryStoreShift, EverySampleHeldMoves) {
    MemorySampleStore store(1, 1024 * 1024, config::Overflow::kDropOldest);
    ASSERT_TRUE(store.append({BufferedSample{0, 10, "{}"}, BufferedSample{0, 11, "{}"}}).ok());
    ASSERT_TRUE(store.shift_read_times(1000).ok());
    EXPECT_THAT(read_times(store, 0), ElementsAre(1010, 1011));
    EXPECT_EQ(store.oldest_read_ms(), 1010);
}

TEST_F(ShiftReadTimesTest, SpillShiftsBothTheBufferAndMemory) {
    fakes::FakeClock clock;
    SpillingSampleStore store(open({"a"}), 1, 1024 * 1024, clock);
    ASSERT_TRUE(store.append({sample(0, 50)}).ok());
    ASSERT_TRUE(store.shift_read_times(7).ok());
    EXPECT_THAT(read_times(store, 0), ElementsAre(57));
}

}  // namespace
}  // namespace kaa
