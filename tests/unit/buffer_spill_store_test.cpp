// SpillingSampleStore: samples the buffer refuses wait in memory, are delivered from there,
// move into the buffer (oldest first) once it accepts writes again, and only what memory
// cannot hold is lost and counted; the buffer's disk reserve (SqliteSampleStore).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "daemon/buffer/disk_reserve.hpp"
#include "daemon/buffer/memory_sample_store.hpp"
#include "daemon/buffer/spill_store.hpp"
#include "daemon/buffer/sqlite/sqlite_sample_store.hpp"
#include "tests/fakes/fake_clock.hpp"
#include "tests/unit/store_test_helpers.hpp"

namespace kaa {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

/// A durable store stand-in that refuses appends while `refuse` is set (a full disk), or
/// keeps only the first `accept_then_fail` samples of the next append and then fails.
class RefusingStore final : public SampleStore {
  public:
    explicit RefusingStore(size_t meters)
        : inner_(meters, 1 << 20, config::Overflow::kDropOldest) {}
    using SampleStore::append;
    Status append(const std::vector<BufferedSample>& samples, size_t& stored) override {
        ++appends;
        stored = 0;
        if (refuse)
            return make_error(ErrorKind::kIo, "buffer test.db: disk full", 13);
        if (accept_then_fail > 0 && accept_then_fail < samples.size()) {
            const std::vector<BufferedSample> first(samples.begin(),
                                                    samples.begin() + accept_then_fail);
            accept_then_fail = 0;
            if (auto st = inner_.append(first, stored); !st)
                return st;
            return make_error(ErrorKind::kIo, "buffer test.db: disk full", 13);
        }
        return inner_.append(samples, stored);
    }
    using SampleStore::has_pending;
    using SampleStore::take;
    std::vector<StoredSample> take(size_t meter, size_t max, Lane lane) override {
        return inner_.take(meter, max, lane);
    }
    void start_live() override { inner_.start_live(); }
    void release(const std::vector<uint64_t>& ids) override { inner_.release(ids); }
    Status remove(const std::vector<uint64_t>& ids) override { return inner_.remove(ids); }
    bool has_pending(size_t meter, Lane lane) const override {
        return inner_.has_pending(meter, lane);
    }
    StoreStats stats() const override { return inner_.stats(); }
    size_t add_meter(const std::string& name) override { return inner_.add_meter(name); }
    Status shift_read_times(int64_t offset_ms) override {
        return inner_.shift_read_times(offset_ms);
    }

    bool refuse = false;
    size_t accept_then_fail = 0;
    int appends = 0;

  private:
    MemorySampleStore inner_;
};

BufferedSample sample(size_t meter, int64_t read_ms) {
    return BufferedSample{meter, read_ms, "{\"v\":" + std::to_string(read_ms) + "}"};
}

using kaa::testing::ids_of;
using kaa::testing::stamps;

class SpillStoreTest : public ::testing::Test {
  protected:
    SpillStoreTest() {
        auto durable = std::make_unique<RefusingStore>(2);
        buffer = durable.get();
        store = std::make_unique<SpillingSampleStore>(std::move(durable), 2, 1 << 20, clock);
    }
    fakes::FakeClock clock;
    RefusingStore* buffer = nullptr;
    std::unique_ptr<SpillingSampleStore> store;
};

TEST_F(SpillStoreTest, RefusedSamplesAreDeliveredFromMemoryAfterTheBuffersOwn) {
    ASSERT_TRUE(store->append({sample(0, 1), sample(0, 2)}));
    buffer->refuse = true;
    ASSERT_TRUE(store->append({sample(0, 3), sample(1, 30)}));
    ASSERT_TRUE(store->append({sample(0, 4)}));
    EXPECT_EQ(store->in_memory(), 3u);
    EXPECT_EQ(store->stats().samples, 5u);
    const auto taken = store->take(0, 10, Lane::kLive);
    EXPECT_EQ(stamps(taken), (std::vector<int64_t>{1, 2, 3, 4}));
    ASSERT_TRUE(store->remove(ids_of(taken)));
    EXPECT_EQ(stamps(store->take(1, 10, Lane::kLive)), (std::vector<int64_t>{30}));
    EXPECT_EQ(store->stats().lost_unstored, 0u);
}

TEST_F(SpillStoreTest, MemorySamplesMoveIntoTheBufferOldestFirstOnceItAccepts) {
    buffer->refuse = true;
    ASSERT_TRUE(store->append({sample(0, 1)}));
    ASSERT_TRUE(store->append({sample(0, 2)}));
    buffer->refuse = false;
    // Within the second after the failure the buffer is not asked again.
    clock.advance(milliseconds(500));
    const int appends = buffer->appends;
    ASSERT_TRUE(store->append({sample(0, 3)}));
    EXPECT_EQ(buffer->appends, appends);
    EXPECT_EQ(store->in_memory(), 3u);
    clock.advance(milliseconds(600));
    ASSERT_TRUE(store->append({sample(0, 4)}));
    EXPECT_EQ(store->in_memory(), 0u);
    EXPECT_EQ(buffer->stats().samples, 4u);
    EXPECT_EQ(stamps(buffer->take(0, 10, Lane::kLive)), (std::vector<int64_t>{1, 2, 3, 4}));
}

TEST_F(SpillStoreTest, SamplesInFlightFromMemoryAreConfirmedOrPutBackAndMovedLater) {
    buffer->refuse = true;
    ASSERT_TRUE(store->append({sample(0, 1), sample(0, 2)}));
    const auto first = store->take(0, 1, Lane::kLive);
    const auto second = store->take(0, 1, Lane::kLive);
    ASSERT_EQ(stamps(first), (std::vector<int64_t>{1}));
    ASSERT_EQ(stamps(second), (std::vector<int64_t>{2}));
    buffer->refuse = false;
    clock.advance(milliseconds(1100));
    ASSERT_TRUE(store->append({sample(0, 3)}));  // nothing pending in memory to move
    EXPECT_EQ(store->in_memory(), 2u);
    ASSERT_TRUE(store->remove(ids_of(first)));  // confirmed: gone from memory
    store->release(ids_of(second));             // put back: goes into the buffer next time
    ASSERT_TRUE(store->append({sample(0, 4)}));
    EXPECT_EQ(store->in_memory(), 0u);
    EXPECT_EQ(stamps(store->take(0, 10, Lane::kLive)), (std::vector<int64_t>{3, 2, 4}));
}

TEST_F(SpillStoreTest, WhatTheBufferTookBeforeFailingIsNotKeptTwice) {
    // The buffer writes a burst in several transactions; the third fails.
    buffer->accept_then_fail = 2;
    ASSERT_TRUE(store->append({sample(0, 1), sample(0, 2), sample(0, 3), sample(1, 40)}));
    EXPECT_EQ(buffer->stats().samples, 2u);
    EXPECT_EQ(store->in_memory(), 2u);
    EXPECT_EQ(store->stats().samples, 4u);
    // Memory's samples move into the buffer the same way: the first two of them, then a failure.
    buffer->refuse = true;
    ASSERT_TRUE(store->append({sample(0, 4), sample(0, 5)}));
    EXPECT_EQ(store->in_memory(), 4u);
    buffer->refuse = false;
    buffer->accept_then_fail = 2;
    clock.advance(milliseconds(1100));
    ASSERT_TRUE(store->append({sample(0, 6)}));
    EXPECT_EQ(buffer->stats().samples, 4u);
    EXPECT_EQ(store->in_memory(), 3u);  // two moved over, the new one waits behind the rest
    const auto taken = store->take(0, 10, Lane::kLive);
    EXPECT_EQ(stamps(taken), (std::vector<int64_t>{1, 2, 3, 4, 5, 6}));
    EXPECT_EQ(stamps(store->take(1, 10, Lane::kLive)), (std::vector<int64_t>{40}));
    EXPECT_EQ(store->stats().lost_unstored, 0u);
}

TEST_F(SpillStoreTest, WhatMemoryCannotHoldIsLostOldestFirstAndCounted) {
    auto durable = std::make_unique<RefusingStore>(1);
    durable->refuse = true;
    SpillingSampleStore small(std::move(durable), 1, 10 * (64 + 8), clock);
    for (int64_t t = 1; t <= 15; ++t)
        ASSERT_TRUE(small.append({sample(0, t)}));
    EXPECT_EQ(small.stats().lost_unstored, 5u);
    EXPECT_EQ(stamps(small.take(0, 20, Lane::kLive)),
              (std::vector<int64_t>{6, 7, 8, 9, 10, 11, 12, 13, 14, 15}));
}

TEST_F(SpillStoreTest, AtStopWhatWaitsInMemoryIsWrittenToTheBufferOrCountedLost) {
    buffer->refuse = true;
    ASSERT_TRUE(store->append({sample(0, 1), sample(1, 2)}));
    (void)store->take(0, 1, Lane::kLive);  // in flight at the stop: kept too
    EXPECT_EQ(store->flush_at_stop(), 2u);
    buffer->refuse = false;
    EXPECT_EQ(store->flush_at_stop(), 0u);
    EXPECT_EQ(buffer->stats().samples, 2u);
}

TEST_F(SpillStoreTest, SampleOfAnUnknownMeterIsRefusedAndNothingIsKept) {
    EXPECT_FALSE(store->append({sample(0, 1), sample(7, 2)}));
    EXPECT_EQ(store->stats().samples, 0u);
}

/// A fresh directory per test, removed afterwards.
class ReserveTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir = fs::temp_directory_path() /
              ("kaa-reserve-" + std::to_string(::getpid()) + "-" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir);
        fs::create_directories(dir);
    }
    void TearDown() override { fs::remove_all(dir); }
    fs::path dir;
};

TEST_F(ReserveTest, TakeAllocatesTheWholeFileAndReleaseDeletesIt) {
    DiskReserve reserve((dir / "b.db-reserve").string(), 1 << 20);
    ASSERT_TRUE(reserve.take());
    struct stat st {};
    ASSERT_EQ(::stat(reserve.path().c_str(), &st), 0);
    EXPECT_GE(static_cast<uint64_t>(st.st_blocks) * 512, 1u << 20);
    EXPECT_TRUE(reserve.held());
    EXPECT_TRUE(reserve.release());
    EXPECT_FALSE(fs::exists(reserve.path()));
    EXPECT_FALSE(reserve.release());
}

TEST_F(ReserveTest, ASparseFileOfTheRightLengthIsNotTakenForTheReserve) {
    const std::string path = (dir / "b.db-reserve").string();
    ASSERT_EQ(::truncate(path.c_str(), 0), -1);  // not there yet
    { std::ofstream(path).flush(); }
    ASSERT_EQ(::truncate(path.c_str(), 1 << 20), 0);
    DiskReserve reserve(path, 1 << 20);
    ASSERT_TRUE(reserve.take());
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_GE(static_cast<uint64_t>(st.st_blocks) * 512, 1u << 20);
}

TEST_F(ReserveTest, SizeIsAThirtySecondOfTheBufferBetweenOneAndEightMiB) {
    EXPECT_EQ(reserve_bytes_for(1 << 20), 1u << 20);
    EXPECT_EQ(reserve_bytes_for(64ull << 20), 2u << 20);
    EXPECT_EQ(reserve_bytes_for(1ull << 40), 8u << 20);
}

TEST_F(ReserveTest, TheDurableBufferHoldsItsReserveBesideTheFile) {
    SqliteStoreOptions options;
    options.path = (dir / "buffer.db").string();
    options.meter_names = {"m"};
    options.max_bytes = 64ull << 20;
    auto store = SqliteSampleStore::open(options);
    ASSERT_TRUE(store) << store.error().message;
    EXPECT_TRUE(fs::exists(options.path + "-reserve"));
    EXPECT_EQ(fs::file_size(options.path + "-reserve"), 2u << 20);
    EXPECT_FALSE(store.value()->disk_full());
}

}  // namespace
}  // namespace kaa
