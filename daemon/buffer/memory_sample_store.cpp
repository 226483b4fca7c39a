// Bounded in-memory sample store: the rows and the byte budget; the Ledger does the rest.
#include "daemon/buffer/memory_sample_store.hpp"

#include <algorithm>

namespace kaa {

MemorySampleStore::MemorySampleStore(size_t meter_count, uint64_t max_bytes,
                                     config::Overflow overflow)
    : rows_(meter_count), ledger_(meter_count), max_bytes_(max_bytes), overflow_(overflow) {}

Status MemorySampleStore::append(const std::vector<BufferedSample>& samples, size_t& stored) {
    stored = 0;
    for (const BufferedSample& s : samples) {
        if (s.meter_index >= rows_.size()) {
            return make_error(ErrorKind::kInvalidArgument, "sample for an unknown meter");
        }
        const uint64_t need = cost(s.record);
        bool refused = false;
        while (stats_.bytes + need > max_bytes_) {
            if (overflow_ == config::Overflow::kDropNewest || !drop_oldest_pending()) {
                refused = true;
                break;
            }
        }
        if (refused) {
            ++stats_.dropped_overflow;
            ++stored;
            continue;
        }
        const uint64_t id = ledger_.add(s.meter_index);
        rows_[s.meter_index].emplace(id, Entry{s.read_ms, s.record});
        owner_.emplace(id, s.meter_index);
        stats_.bytes += need;
        ++stats_.samples;
        ++stored;
    }
    return {};
}

bool MemorySampleStore::drop_oldest_pending() {
    size_t victim_meter = rows_.size();
    Rows::iterator victim;
    for (size_t meter = 0; meter < rows_.size(); ++meter) {
        if (!ledger_.has_pending(meter, Lane::kLive) && !ledger_.has_pending(meter, Lane::kBacklog))
            continue;
        Rows& rows = rows_[meter];
        for (auto it = rows.begin(); it != rows.end(); ++it) {
            if (ledger_.in_flight(it->first) != nullptr)
                continue;
            if (victim_meter == rows_.size() || it->first < victim->first) {
                victim_meter = meter;
                victim = it;
            }
            break;
        }
    }
    if (victim_meter == rows_.size())
        return false;
    ++stats_.dropped_overflow;
    erase(victim_meter, victim);
    return true;
}

void MemorySampleStore::erase(size_t meter, Rows::iterator it) {
    ledger_.forget(it->first, meter);
    stats_.bytes -= cost(it->second.record);
    --stats_.samples;
    owner_.erase(it->first);
    rows_[meter].erase(it);
}

RowSource::Found MemorySampleStore::read(size_t meter, uint64_t id, StoredSample& out) {
    const auto it = rows_[meter].find(id);
    if (it == rows_[meter].end())
        return Found::kGone;
    out = StoredSample{id, meter, it->second.read_ms, it->second.record};
    return Found::kRow;
}

bool MemorySampleStore::read_after(size_t meter, uint64_t after, uint64_t below, size_t max,
                                   std::vector<StoredSample>& out) {
    const Rows& rows = rows_[meter];
    for (auto it = rows.upper_bound(after); it != rows.end() && it->first < below && max > 0;
         ++it, --max) {
        out.push_back(StoredSample{it->first, meter, it->second.read_ms, it->second.record});
    }
    return true;
}

std::vector<StoredSample> MemorySampleStore::take(size_t meter_index, size_t max, Lane lane) {
    return ledger_.take(meter_index, max, lane, *this);
}

void MemorySampleStore::release(const std::vector<uint64_t>& ids) {
    ledger_.release(ids);
}

Status MemorySampleStore::remove(const std::vector<uint64_t>& ids) {
    for (uint64_t id : ids) {
        const auto owner = owner_.find(id);
        if (owner == owner_.end())
            continue;
        const size_t meter = owner->second;
        erase(meter, rows_[meter].find(id));
    }
    return {};
}

bool MemorySampleStore::has_pending(size_t meter_index, Lane lane) const {
    return ledger_.has_pending(meter_index, lane);
}

void MemorySampleStore::start_live() {
    ledger_.start_live();
}

StoreStats MemorySampleStore::stats() const {
    return stats_;
}

Status MemorySampleStore::shift_read_times(int64_t offset_ms) {
    // Nothing in memory outlives the process: every sample held is of this run.
    for (Rows& rows : rows_) {
        for (auto& [id, entry] : rows)
            entry.read_ms += offset_ms;
    }
    return {};
}

std::optional<int64_t> MemorySampleStore::oldest_read_ms() {
    std::optional<int64_t> oldest;
    for (const Rows& rows : rows_) {
        if (!rows.empty())
            oldest = std::min(oldest.value_or(rows.begin()->second.read_ms),
                              rows.begin()->second.read_ms);
    }
    return oldest;
}

size_t MemorySampleStore::add_meter(const std::string& /*name*/) {
    // Memory holds samples of this run only, so a new meter starts with none.
    rows_.emplace_back();
    return ledger_.add_meter();
}

std::vector<BufferedSample> MemorySampleStore::all_samples() const {
    std::vector<BufferedSample> out;
    out.reserve(stats_.samples);
    for (size_t meter = 0; meter < rows_.size(); ++meter) {
        for (const auto& [id, entry] : rows_[meter])
            out.push_back(BufferedSample{meter, entry.read_ms, entry.record});
    }
    return out;
}

}  // namespace kaa
