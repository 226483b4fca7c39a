// The Ledger on its own, over a fake row source: lanes, start_live(), take/release/forget
// ordering, released samples first and in order, add_meter, runs, stepped-over ranges and
// the pending counts.
#include "daemon/buffer/ledger.hpp"

#include <gtest/gtest.h>

#include <map>

namespace kaa {
namespace {

/// Rows in memory, per meter, with optional ranges to step over and a failure switch.
class FakeRows final : public RowSource {
  public:
    /// Stores a sample the ledger gave `id`; its record is `bytes` long.
    void put(size_t meter, uint64_t id, size_t bytes = 1) {
        rows_[meter][id] = std::string(bytes, 'x');
    }
    void erase(size_t meter, uint64_t id) { rows_[meter].erase(id); }
    void skip(size_t meter, uint64_t first, uint64_t last) { skipped_[meter][first] = last; }
    bool fail = false;

    Found read(size_t meter, uint64_t id, StoredSample& out) override {
        if (fail)
            return Found::kFailed;
        const auto it = rows_[meter].find(id);
        if (it == rows_[meter].end())
            return Found::kGone;
        out = StoredSample{id, meter, static_cast<int64_t>(id), it->second};
        return Found::kRow;
    }
    bool read_after(size_t meter, uint64_t after, uint64_t below, size_t max,
                    std::vector<StoredSample>& out) override {
        if (fail)
            return false;
        for (auto it = rows_[meter].upper_bound(after);
             it != rows_[meter].end() && it->first < below && max > 0; ++it, --max) {
            out.push_back(
                StoredSample{it->first, meter, static_cast<int64_t>(it->first), it->second});
        }
        return true;
    }
    std::optional<IdRange> next_skipped(size_t meter, uint64_t after) const override {
        const auto runs = skipped_.find(meter);
        if (runs == skipped_.end())
            return std::nullopt;
        for (const auto& [first, last] : runs->second) {
            if (last > after)
                return IdRange{first, last};
        }
        return std::nullopt;
    }

  private:
    std::map<size_t, std::map<uint64_t, std::string>> rows_;
    std::map<size_t, std::map<uint64_t, uint64_t>> skipped_;
};

/// Adds `count` samples of `meter` to both the ledger and the rows.
void add(Ledger& ledger, FakeRows& rows, size_t meter, size_t count) {
    for (size_t i = 0; i < count; ++i)
        rows.put(meter, ledger.add(meter));
}

std::vector<uint64_t> ids_of(const std::vector<StoredSample>& taken) {
    std::vector<uint64_t> out;
    for (const auto& s : taken)
        out.push_back(s.id);
    return out;
}

TEST(Ledger, AddedSamplesAreLiveAndComeOutOldestFirstPerMeter) {
    Ledger ledger(2);
    FakeRows rows;
    add(ledger, rows, 0, 2);
    add(ledger, rows, 1, 1);
    add(ledger, rows, 0, 1);
    EXPECT_EQ(ledger.pending(0, Lane::kLive), 3u);
    EXPECT_EQ(ledger.pending(0, Lane::kBacklog), 0u);
    EXPECT_EQ(ledger.next_id(), 5u);
    EXPECT_TRUE(ledger.take(0, 10, Lane::kBacklog, rows).empty());
    EXPECT_EQ(ids_of(ledger.take(0, 10, Lane::kLive, rows)), (std::vector<uint64_t>{1, 2, 4}));
    EXPECT_EQ(ids_of(ledger.take(1, 10, Lane::kLive, rows)), (std::vector<uint64_t>{3}));
    EXPECT_FALSE(ledger.has_pending(0, Lane::kLive));
    EXPECT_EQ(ledger.in_flight_count(), 4u);
}

TEST(Ledger, StartLiveMovesEverythingWaitingToTheBacklog) {
    Ledger ledger(1);
    FakeRows rows;
    add(ledger, rows, 0, 3);
    EXPECT_EQ(ids_of(ledger.take(0, 1, Lane::kLive, rows)), (std::vector<uint64_t>{1}));
    ledger.start_live();
    add(ledger, rows, 0, 2);
    EXPECT_EQ(ledger.pending(0, Lane::kBacklog), 2u);
    EXPECT_EQ(ledger.pending(0, Lane::kLive), 2u);
    // The one in flight is not taken again from the rewound backlog.
    EXPECT_EQ(ids_of(ledger.take(0, 10, Lane::kBacklog, rows)), (std::vector<uint64_t>{2, 3}));
    EXPECT_EQ(ids_of(ledger.take(0, 10, Lane::kLive, rows)), (std::vector<uint64_t>{4, 5}));
    EXPECT_FALSE(ledger.has_pending(0, Lane::kBacklog));
    EXPECT_FALSE(ledger.has_pending(0, Lane::kLive));
}

TEST(Ledger, ReleasedSamplesComeBackFirstAndInOrder) {
    Ledger ledger(1);
    FakeRows rows;
    add(ledger, rows, 0, 5);
    EXPECT_EQ(ids_of(ledger.take(0, 3, Lane::kLive, rows)), (std::vector<uint64_t>{1, 2, 3}));
    ledger.release({3, 1, 99});
    EXPECT_EQ(ledger.pending(0, Lane::kLive), 4u);
    EXPECT_EQ(ids_of(ledger.take(0, 3, Lane::kLive, rows)), (std::vector<uint64_t>{1, 3, 4}));
    EXPECT_EQ(ids_of(ledger.take(0, 3, Lane::kLive, rows)), (std::vector<uint64_t>{5}));
    ledger.release({2, 2});
    EXPECT_EQ(ledger.pending(0, Lane::kLive), 1u);
    EXPECT_EQ(ids_of(ledger.take(0, 3, Lane::kLive, rows)), (std::vector<uint64_t>{2}));
}

TEST(Ledger, ReleasedAcrossStartLiveReturnsToTheBacklog) {
    Ledger ledger(1);
    FakeRows rows;
    add(ledger, rows, 0, 3);
    EXPECT_EQ(ids_of(ledger.take(0, 2, Lane::kLive, rows)), (std::vector<uint64_t>{1, 2}));
    ledger.start_live();
    ledger.release({2});
    EXPECT_EQ(ledger.pending(0, Lane::kBacklog), 2u);
    EXPECT_FALSE(ledger.has_pending(0, Lane::kLive));
    EXPECT_EQ(ids_of(ledger.take(0, 10, Lane::kBacklog, rows)), (std::vector<uint64_t>{2, 3}));
}

TEST(Ledger, ForgetCountsOutWaitingAndInFlightSamples) {
    Ledger ledger(1);
    FakeRows rows;
    add(ledger, rows, 0, 4);
    EXPECT_EQ(ids_of(ledger.take(0, 2, Lane::kLive, rows)), (std::vector<uint64_t>{1, 2}));
    ledger.release({2});
    EXPECT_TRUE(ledger.forget(1, 0));   // in flight
    EXPECT_FALSE(ledger.forget(2, 0));  // released
    EXPECT_FALSE(ledger.forget(4, 0));  // waiting past the cursor
    rows.erase(0, 1);
    rows.erase(0, 2);
    rows.erase(0, 4);
    EXPECT_EQ(ledger.in_flight_count(), 0u);
    EXPECT_EQ(ledger.pending(0, Lane::kLive), 1u);
    EXPECT_EQ(ids_of(ledger.take(0, 10, Lane::kLive, rows)), (std::vector<uint64_t>{3}));
    EXPECT_FALSE(ledger.forget(7, 5));  // unknown meter: ignored
}

TEST(Ledger, AReleasedSampleThatVanishedIsSkipped) {
    Ledger ledger(1);
    FakeRows rows;
    add(ledger, rows, 0, 3);
    ledger.take(0, 2, Lane::kLive, rows);
    ledger.release({1, 2});
    rows.erase(0, 1);
    EXPECT_EQ(ids_of(ledger.take(0, 10, Lane::kLive, rows)), (std::vector<uint64_t>{2, 3}));
    EXPECT_FALSE(ledger.has_pending(0, Lane::kLive));
}

TEST(Ledger, AddMeterStartsEmptyAndLive) {
    Ledger ledger(1);
    FakeRows rows;
    add(ledger, rows, 0, 2);
    ledger.start_live();
    EXPECT_EQ(ledger.add_meter(), 1u);
    EXPECT_EQ(ledger.meters(), 2u);
    EXPECT_FALSE(ledger.has_pending(1, Lane::kLive));
    EXPECT_FALSE(ledger.has_pending(1, Lane::kBacklog));
    add(ledger, rows, 1, 1);
    EXPECT_EQ(ledger.pending(1, Lane::kLive), 1u);
    EXPECT_EQ(ids_of(ledger.take(1, 10, Lane::kLive, rows)), (std::vector<uint64_t>{3}));
    EXPECT_EQ(ids_of(ledger.take(0, 10, Lane::kBacklog, rows)), (std::vector<uint64_t>{1, 2}));
}

TEST(Ledger, RestoredRowsAreBacklog) {
    Ledger ledger(2);
    FakeRows rows;
    rows.put(0, 3);
    rows.put(0, 7);
    ledger.restore(10);
    ledger.set_backlog(0, 2);
    EXPECT_EQ(ledger.next_id(), 10u);
    EXPECT_EQ(ledger.pending(0, Lane::kBacklog), 2u);
    EXPECT_TRUE(ledger.take(0, 10, Lane::kLive, rows).empty());
    add(ledger, rows, 0, 1);
    EXPECT_EQ(ids_of(ledger.take(0, 10, Lane::kBacklog, rows)), (std::vector<uint64_t>{3, 7}));
    EXPECT_EQ(ids_of(ledger.take(0, 10, Lane::kLive, rows)), (std::vector<uint64_t>{10}));
    EXPECT_FALSE(ledger.has_pending(0, Lane::kBacklog));
}

TEST(Ledger, ARunIsCleanUntilPartOfItIsReleased) {
    Ledger ledger(1);
    FakeRows rows;
    for (int i = 0; i < 3; ++i)
        rows.put(0, ledger.add(0), 10);
    const auto taken = ledger.take(0, 3, Lane::kLive, rows);
    ASSERT_EQ(taken.size(), 3u);
    const Ledger::InFlight* first = ledger.in_flight(1);
    ASSERT_NE(first, nullptr);
    EXPECT_EQ(first->bytes, 10u);
    const Ledger::Run* run = ledger.run(first->run);
    ASSERT_NE(run, nullptr);
    EXPECT_TRUE(run->clean);
    EXPECT_EQ(run->first, 1u);
    EXPECT_EQ(run->last, 3u);
    EXPECT_EQ(run->count, 3u);
    EXPECT_EQ(run->bytes, 30u);
    const uint64_t run_id = first->run;
    ledger.release({2});
    EXPECT_FALSE(ledger.run(run_id)->clean);
    EXPECT_EQ(ledger.run(run_id)->outstanding, 2u);
    ledger.forget(1, 0);
    ledger.forget(3, 0);
    EXPECT_EQ(ledger.run(run_id), nullptr);
}

TEST(Ledger, SkippedRangesAreSteppedOverAndMakeARunUnclean) {
    Ledger ledger(1);
    FakeRows rows;
    add(ledger, rows, 0, 6);
    rows.skip(0, 2, 3);
    rows.skip(0, 5, 5);
    const auto taken = ledger.take(0, 10, Lane::kLive, rows);
    EXPECT_EQ(ids_of(taken), (std::vector<uint64_t>{1, 4, 6}));
    EXPECT_FALSE(ledger.run(ledger.in_flight(1)->run)->clean);
}

TEST(Ledger, AFailedReadTakesNothingAndLosesNothing) {
    Ledger ledger(1);
    FakeRows rows;
    add(ledger, rows, 0, 2);
    ledger.take(0, 1, Lane::kLive, rows);
    ledger.release({1});
    rows.fail = true;
    EXPECT_TRUE(ledger.take(0, 10, Lane::kLive, rows).empty());
    EXPECT_EQ(ledger.pending(0, Lane::kLive), 2u);
    rows.fail = false;
    EXPECT_EQ(ids_of(ledger.take(0, 10, Lane::kLive, rows)), (std::vector<uint64_t>{1, 2}));
}

TEST(Ledger, UnknownMetersAndEmptyTakes) {
    Ledger ledger(1);
    FakeRows rows;
    add(ledger, rows, 0, 1);
    EXPECT_TRUE(ledger.take(3, 10, Lane::kLive, rows).empty());
    EXPECT_TRUE(ledger.take(0, 0, Lane::kLive, rows).empty());
    EXPECT_FALSE(ledger.has_pending(3, Lane::kLive));
    EXPECT_EQ(ledger.pending(3, Lane::kBacklog), 0u);
    EXPECT_EQ(ledger.in_flight_count(), 0u);
}

}  // namespace
}  // namespace kaa
