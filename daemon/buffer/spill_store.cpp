// The durable buffer with room in memory for the samples it refuses.
#include "daemon/buffer/spill_store.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace kaa {
namespace {

constexpr const char* kComponent = "buffer";
// Ids of samples held in memory carry this bit; the buffer's own ids never reach it.
constexpr uint64_t kMemoryBit = 1ull << 63;
// How often a failing buffer is asked again to take samples.
constexpr auto kAttemptInterval = std::chrono::seconds(1);
// Samples moved from memory to the buffer per take (one transaction for all of them).
constexpr size_t kMoveChunk = 65536;

/// Splits ids into the buffer's and memory's (without the marker bit).
void split(const std::vector<uint64_t>& ids, std::vector<uint64_t>& durable,
           std::vector<uint64_t>& memory) {
    for (uint64_t id : ids) {
        if ((id & kMemoryBit) != 0)
            memory.push_back(id & ~kMemoryBit);
        else
            durable.push_back(id);
    }
}

}  // namespace

SpillingSampleStore::SpillingSampleStore(std::unique_ptr<SampleStore> durable, size_t meter_count,
                                         uint64_t memory_bytes, const Clock& clock)
    : durable_(std::move(durable)),
      memory_(meter_count, memory_bytes, config::Overflow::kDropOldest),
      clock_(clock) {}

bool SpillingSampleStore::memory_has_pending() const {
    const size_t meters = memory_.meter_count();
    for (size_t m = 0; m < meters; ++m) {
        if (memory_.has_pending(m))
            return true;
    }
    return false;
}

bool SpillingSampleStore::move_to_durable() {
    std::vector<uint64_t> ids;
    std::vector<BufferedSample> samples;
    const size_t meters = memory_.meter_count();
    for (size_t m = 0; m < meters; ++m) {
        while (memory_.has_pending(m)) {
            for (StoredSample& s : memory_.take(m, kMoveChunk)) {
                ids.push_back(s.id);
                samples.push_back(BufferedSample{s.meter_index, s.read_ms, std::move(s.record)});
            }
        }
    }
    if (samples.empty())
        return true;
    size_t stored = 0;
    if (auto st = durable_->append(samples, stored); !st) {
        // The first `stored` samples are in the buffer now: only the rest stay in memory.
        (void)memory_.remove(std::vector<uint64_t>(ids.begin(), ids.begin() + stored));
        memory_.release(std::vector<uint64_t>(ids.begin() + stored, ids.end()));
        return false;
    }
    (void)memory_.remove(ids);  // cannot fail in memory
    spdlog::info("{}: wrote {} samples that waited in memory to the buffer", kComponent,
                 samples.size());
    return true;
}

Status SpillingSampleStore::append(const std::vector<BufferedSample>& samples, size_t& stored) {
    stored = 0;
    for (const BufferedSample& s : samples) {
        if (s.meter_index >= memory_.meter_count())
            return make_error(ErrorKind::kInvalidArgument, "buffer: sample for an unknown meter");
    }
    const auto now = clock_.now();
    if (!spilling_ || now >= next_attempt_) {
        // Oldest first: what waits in memory goes before this round (a failing buffer is
        // asked once a second only).
        next_attempt_ = now + kAttemptInterval;
        size_t in_buffer = 0;
        Status st = memory_has_pending() && !move_to_durable()
                        ? make_error(ErrorKind::kIo, "the buffer refused the samples in memory")
                        : durable_->append(samples, in_buffer);
        if (st) {
            stored = samples.size();
            if (spilling_) {
                spdlog::info("{}: the buffer accepts samples again ({} waited in memory meanwhile)",
                             kComponent, spilled_);
                spilling_ = false;
            }
            return {};
        }
        if (!spilling_) {
            spilling_ = true;
            spilled_ = 0;
            spdlog::error(
                "{}: {}; new samples wait in memory (up to {} MiB, then the oldest are lost and "
                "counted), are delivered from there, and are written to the buffer once it "
                "accepts them again",
                kComponent, st.error().message, memory_.max_bytes() >> 20);
        }
        if (in_buffer > 0) {  // the buffer took the first of them before it failed
            const std::vector<BufferedSample> rest(samples.begin() + in_buffer, samples.end());
            spilled_ += rest.size();
            size_t in_memory = 0;
            Status kept = memory_.append(rest, in_memory);
            stored = in_buffer + in_memory;
            return kept;
        }
    }
    spilled_ += samples.size();
    return memory_.append(samples, stored);
}

std::vector<StoredSample> SpillingSampleStore::take(size_t meter_index, size_t max, Lane lane) {
    std::vector<StoredSample> out = durable_->take(meter_index, max, lane);
    if (out.size() < max) {
        for (StoredSample& s : memory_.take(meter_index, max - out.size(), lane)) {
            s.id |= kMemoryBit;
            out.push_back(std::move(s));
        }
    }
    return out;
}

void SpillingSampleStore::start_live() {
    durable_->start_live();
    memory_.start_live();
}

void SpillingSampleStore::release(const std::vector<uint64_t>& ids) {
    std::vector<uint64_t> durable, memory;
    split(ids, durable, memory);
    if (!durable.empty())
        durable_->release(durable);
    if (!memory.empty())
        memory_.release(memory);
}

Status SpillingSampleStore::remove(const std::vector<uint64_t>& ids) {
    std::vector<uint64_t> durable, memory;
    split(ids, durable, memory);
    if (!memory.empty())
        (void)memory_.remove(memory);
    return durable.empty() ? Status{} : durable_->remove(durable);
}

bool SpillingSampleStore::has_pending(size_t meter_index, Lane lane) const {
    return durable_->has_pending(meter_index, lane) || memory_.has_pending(meter_index, lane);
}

std::optional<int64_t> SpillingSampleStore::oldest_read_ms() {
    const auto durable = durable_->oldest_read_ms();
    const auto memory = memory_.oldest_read_ms();
    if (durable && memory)
        return std::min(*durable, *memory);
    return durable ? durable : memory;
}

StoreStats SpillingSampleStore::stats() const {
    StoreStats total = durable_->stats();
    const StoreStats mem = memory_.stats();
    total.samples += mem.samples;
    total.bytes += mem.bytes;
    total.lost_unstored += mem.dropped_overflow;
    return total;
}

Status SpillingSampleStore::shift_read_times(int64_t offset_ms) {
    (void)memory_.shift_read_times(offset_ms);  // cannot fail in memory
    return durable_->shift_read_times(offset_ms);
}

size_t SpillingSampleStore::add_meter(const std::string& name) {
    const size_t index = durable_->add_meter(name);
    memory_.add_meter(name);
    return index;
}

uint64_t SpillingSampleStore::flush_at_stop() {
    const std::vector<BufferedSample> samples = memory_.all_samples();
    if (samples.empty())
        return 0;
    // In flight ones too: the process ends without their answer, so they are sent again.
    (void)durable_->check_file();  // a full disk with room again accepts writes
    size_t stored = 0;
    if (auto st = durable_->append(samples, stored); !st)
        return samples.size() - stored;
    spdlog::info("{}: wrote the {} samples that waited in memory to the buffer", kComponent,
                 samples.size());
    return 0;
}

}  // namespace kaa
