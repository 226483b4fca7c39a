#pragma once
// SpillingSampleStore: the durable buffer with room in memory beside it. When the buffer
// refuses writes (disk full, an I/O error), new samples wait in memory and are delivered
// from there like any other; once the buffer accepts writes again they move into it, oldest
// first, ahead of newer ones. Only what the memory budget cannot hold is lost, and counted.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "daemon/buffer/memory_sample_store.hpp"
#include "daemon/buffer/sample_store.hpp"

namespace kaa {

/// A SampleStore in front of a durable one that may refuse appends for a while.
class SpillingSampleStore final : public SampleStore {
  public:
    /// `memory_bytes` bounds the samples kept in memory (beyond it the oldest are lost);
    /// `clock` paces the attempts to write to a failing buffer (once a second).
    SpillingSampleStore(std::unique_ptr<SampleStore> durable, size_t meter_count,
                        uint64_t memory_bytes, const Clock& clock);

    /// Always keeps the samples (in the buffer, else in memory); fails only for a sample of
    /// an unknown meter.
    using SampleStore::append;
    Status append(const std::vector<BufferedSample>& samples, size_t& stored) override;
    using SampleStore::has_pending;
    using SampleStore::take;
    /// The buffer's samples first, then those in memory (newer: they came after it failed).
    std::vector<StoredSample> take(size_t meter_index, size_t max, Lane lane) override;
    void start_live() override;
    void release(const std::vector<uint64_t>& ids) override;
    Status remove(const std::vector<uint64_t>& ids) override;
    bool has_pending(size_t meter_index, Lane lane) const override;
    /// Both stores' figures added up; lost_unstored counts what memory could not hold.
    StoreStats stats() const override;
    std::optional<int64_t> oldest_read_ms() override;
    size_t add_meter(const std::string& name) override;
    Status shift_read_times(int64_t offset_ms) override;
    bool compact(size_t max_rows) override { return durable_->compact(max_rows); }
    Status check_file() override { return durable_->check_file(); }
    std::optional<std::chrono::steady_clock::time_point> sync_due() const override {
        return durable_->sync_due();
    }
    Status sync() override { return durable_->sync(); }
    /// Samples that wait in memory only (lost if the process stops now).
    uint64_t in_memory() const { return memory_.stats().samples; }
    /// At shutdown: one last attempt to write what waits in memory to the buffer; returns
    /// how many samples could not be written (they are lost with the process).
    uint64_t flush_at_stop();

  private:
    /// Writes every sample waiting in memory (not in flight) to the buffer, oldest first;
    /// false when the buffer refused them (they stay in memory).
    bool move_to_durable();
    bool memory_has_pending() const;

    std::unique_ptr<SampleStore> durable_;
    MemorySampleStore memory_;
    const Clock& clock_;
    bool spilling_ = false;  // the buffer refused the last write: appends go to memory
    Clock::Monotonic next_attempt_{};
    uint64_t spilled_ = 0;  // samples that went to memory since spilling started
};

}  // namespace kaa
