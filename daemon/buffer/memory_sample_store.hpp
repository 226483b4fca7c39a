#pragma once
// MemorySampleStore: a bounded in-memory SampleStore (until the durable SQLite buffer).

#include <map>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "daemon/buffer/ledger.hpp"
#include "daemon/buffer/sample_store.hpp"

namespace kaa {

/// Keeps samples in memory up to a byte budget; when full, drops the oldest pending
/// sample or refuses the newest one, as the overflow policy says, and counts drops. Lanes
/// and samples in flight are the Ledger's; this class keeps the rows and the budget.
class MemorySampleStore final : public SampleStore, private RowSource {
  public:
    MemorySampleStore(size_t meter_count, uint64_t max_bytes, config::Overflow overflow);

    using SampleStore::append;
    Status append(const std::vector<BufferedSample>& samples, size_t& stored) override;
    using SampleStore::has_pending;
    using SampleStore::take;
    std::vector<StoredSample> take(size_t meter_index, size_t max, Lane lane) override;
    void start_live() override;
    void release(const std::vector<uint64_t>& ids) override;
    Status remove(const std::vector<uint64_t>& ids) override;
    bool has_pending(size_t meter_index, Lane lane) const override;
    StoreStats stats() const override;
    std::optional<int64_t> oldest_read_ms() override;
    size_t add_meter(const std::string& name) override;
    Status shift_read_times(int64_t offset_ms) override;
    /// The number of meters it keeps samples for.
    size_t meter_count() const { return rows_.size(); }
    /// The byte budget.
    uint64_t max_bytes() const { return max_bytes_; }
    /// Every sample held, in flight or not, meter by meter and oldest first (for a last
    /// write elsewhere at shutdown).
    std::vector<BufferedSample> all_samples() const;

  private:
    struct Entry {
        int64_t read_ms = 0;
        std::string record;
    };
    using Rows = std::map<uint64_t, Entry>;
    static uint64_t cost(const std::string& record) { return record.size() + 64; }
    Found read(size_t meter, uint64_t id, StoredSample& out) override;
    bool read_after(size_t meter, uint64_t after, uint64_t below, size_t max,
                    std::vector<StoredSample>& out) override;
    bool drop_oldest_pending();
    void erase(size_t meter, Rows::iterator it);

    std::vector<Rows> rows_;                      // per meter, by sample id
    std::unordered_map<uint64_t, size_t> owner_;  // sample id -> meter index
    Ledger ledger_;
    uint64_t max_bytes_;
    config::Overflow overflow_;
    StoreStats stats_;
};

}  // namespace kaa
