// Bounded in-memory sample store.
#include "daemon/buffer/memory_sample_store.hpp"

namespace kaa {

MemorySampleStore::MemorySampleStore(size_t meter_count, uint64_t max_bytes,
                                     config::Overflow overflow)
    : meters_(meter_count), max_bytes_(max_bytes), overflow_(overflow) {}

Status MemorySampleStore::append(const std::vector<BufferedSample>& samples) {
    for (const BufferedSample& s : samples) {
        if (s.meter_index >= meters_.size()) {
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
            continue;
        }
        const uint64_t id = next_id_++;
        meters_[s.meter_index].entries.emplace(id, Entry{s.read_ms, s.record, false});
        ++meters_[s.meter_index].pending[lane_of(id)];
        owner_.emplace(id, s.meter_index);
        stats_.bytes += need;
        ++stats_.samples;
    }
    return {};
}

bool MemorySampleStore::drop_oldest_pending() {
    MeterQueue* victim_queue = nullptr;
    std::map<uint64_t, Entry>::iterator victim;
    for (MeterQueue& q : meters_) {
        if (q.pending[0] + q.pending[1] == 0)
            continue;
        for (auto it = q.entries.begin(); it != q.entries.end(); ++it) {
            if (it->second.taken)
                continue;
            if (victim_queue == nullptr || it->first < victim->first) {
                victim_queue = &q;
                victim = it;
            }
            break;
        }
    }
    if (victim_queue == nullptr)
        return false;
    stats_.bytes -= cost(victim->second.record);
    --stats_.samples;
    ++stats_.dropped_overflow;
    --victim_queue->pending[lane_of(victim->first)];
    owner_.erase(victim->first);
    victim_queue->entries.erase(victim);
    return true;
}

std::vector<StoredSample> MemorySampleStore::take(size_t meter_index, size_t max, Lane lane) {
    std::vector<StoredSample> out;
    if (meter_index >= meters_.size())
        return out;
    MeterQueue& q = meters_[meter_index];
    const bool live = lane == Lane::kLive;
    auto it = live ? q.entries.lower_bound(live_from_) : q.entries.begin();
    const auto end = live ? q.entries.end() : q.entries.lower_bound(live_from_);
    for (; it != end && out.size() < max; ++it) {
        if (it->second.taken)
            continue;
        it->second.taken = true;
        --q.pending[lane_of(it->first)];
        out.push_back(StoredSample{it->first, meter_index, it->second.read_ms, it->second.record});
    }
    return out;
}

MemorySampleStore::MeterQueue* MemorySampleStore::find_owner(
    uint64_t id, std::map<uint64_t, Entry>::iterator& it) {
    const auto owner = owner_.find(id);
    if (owner == owner_.end())
        return nullptr;
    MeterQueue& q = meters_[owner->second];
    it = q.entries.find(id);
    return it == q.entries.end() ? nullptr : &q;
}

void MemorySampleStore::release(const std::vector<uint64_t>& ids) {
    for (uint64_t id : ids) {
        std::map<uint64_t, Entry>::iterator it;
        MeterQueue* q = find_owner(id, it);
        if (q == nullptr || !it->second.taken)
            continue;
        it->second.taken = false;
        ++q->pending[lane_of(id)];
    }
}

Status MemorySampleStore::remove(const std::vector<uint64_t>& ids) {
    for (uint64_t id : ids) {
        std::map<uint64_t, Entry>::iterator it;
        MeterQueue* q = find_owner(id, it);
        if (q == nullptr)
            continue;
        if (!it->second.taken)
            --q->pending[lane_of(id)];
        stats_.bytes -= cost(it->second.record);
        --stats_.samples;
        q->entries.erase(it);
        owner_.erase(id);
    }
    return {};
}

bool MemorySampleStore::has_pending(size_t meter_index, Lane lane) const {
    return meter_index < meters_.size() &&
           meters_[meter_index].pending[lane == Lane::kLive ? 0 : 1] > 0;
}

void MemorySampleStore::start_live() {
    for (MeterQueue& q : meters_) {
        q.pending[1] += q.pending[0];
        q.pending[0] = 0;
    }
    live_from_ = next_id_;
}

StoreStats MemorySampleStore::stats() const {
    return stats_;
}

size_t MemorySampleStore::add_meter(const std::string& /*name*/) {
    // Memory holds samples of this run only, so a new meter starts with none.
    meters_.emplace_back();
    return meters_.size() - 1;
}

}  // namespace kaa
