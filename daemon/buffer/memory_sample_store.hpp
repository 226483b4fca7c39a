#pragma once
// MemorySampleStore: a bounded in-memory SampleStore (until the durable SQLite buffer).

#include <map>
#include <vector>

#include "config/config.hpp"
#include "daemon/buffer/sample_store.hpp"

namespace kaa {

/// Keeps samples in memory up to a byte budget; when full, drops the oldest pending
/// sample or refuses the newest one, as the overflow policy says, and counts drops.
class MemorySampleStore final : public SampleStore {
  public:
    MemorySampleStore(size_t meter_count, uint64_t max_bytes, config::Overflow overflow);

    Status append(const std::vector<BufferedSample>& samples) override;
    using SampleStore::has_pending;
    using SampleStore::take;
    std::vector<StoredSample> take(size_t meter_index, size_t max, Lane lane) override;
    void start_live() override;
    void release(const std::vector<uint64_t>& ids) override;
    Status remove(const std::vector<uint64_t>& ids) override;
    bool has_pending(size_t meter_index, Lane lane) const override;
    StoreStats stats() const override;
    size_t add_meter(const std::string& name) override;

  private:
    struct Entry {
        int64_t read_ms = 0;
        std::string record;
        bool taken = false;
    };
    struct MeterQueue {
        std::map<uint64_t, Entry> entries;
        size_t pending[2] = {0, 0};  // untaken entries per Lane
    };
    /// The lane of a sample id, as an index into MeterQueue::pending.
    size_t lane_of(uint64_t id) const { return id < live_from_ ? 1 : 0; }
    static uint64_t cost(const std::string& record) { return record.size() + 64; }
    bool drop_oldest_pending();
    MeterQueue* find_owner(uint64_t id, std::map<uint64_t, Entry>::iterator& it);

    std::vector<MeterQueue> meters_;
    std::map<uint64_t, size_t> owner_;  // sample id -> meter index
    uint64_t max_bytes_;
    config::Overflow overflow_;
    uint64_t next_id_ = 1;
    uint64_t live_from_ = 1;  // first id of the live lane
    StoreStats stats_;
};

}  // namespace kaa
