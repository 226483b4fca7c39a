#pragma once
// SampleStore: the one place a sample waits between its poll and Kaa's confirmation.
// The uplink takes batches out, and either removes them (delivered, or rejected for
// good) or releases them to be sent again.

#include <chrono>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "core/sample.hpp"

namespace kaa {

/// A sample in the buffer's form: its meter, its read time and the record of its readings
/// (daemon/buffer/sample_record.hpp).
struct BufferedSample {
    size_t meter_index = 0;
    int64_t read_ms = 0;
    std::string record;
};

/// A buffered sample as taken out: its sequence id orders the samples of a meter.
struct StoredSample {
    uint64_t id = 0;
    size_t meter_index = 0;
    int64_t read_ms = 0;
    std::string record;
};

/// Figures about a store, for status lines and tests.
struct StoreStats {
    uint64_t samples = 0;           // waiting (pending or taken)
    uint64_t bytes = 0;             // payload bytes waiting
    uint64_t dropped_overflow = 0;  // samples dropped because the store was full
    uint64_t lost_unstored = 0;     // refused by the buffer (disk full) and beyond memory's room
};

/// Which samples of a meter a take() looks at. Live: appended since the last
/// start_live() (readings taken while connected); backlog: everything older (what waited
/// through an outage or a restart). The uplink sends live samples first so that a long
/// backlog never delays current readings; within a lane samples come out oldest first.
enum class Lane { kLive, kBacklog };

/// Durable or in-memory queue of samples per meter.
class SampleStore {
  public:
    virtual ~SampleStore() = default;
    /// Adds samples, oldest first, in one or more transactions; may drop per overflow
    /// policy. On failure `stored` says how many of the first samples were dealt with all
    /// the same (kept, or dropped by the policy): the rest were not stored.
    virtual Status append(const std::vector<BufferedSample>& samples, size_t& stored) = 0;
    /// append() for a caller that needs no count on failure.
    Status append(const std::vector<BufferedSample>& samples) {
        size_t stored = 0;
        return append(samples, stored);
    }
    /// Takes up to `max` of the meter's oldest samples in `lane` that are not already taken.
    virtual std::vector<StoredSample> take(size_t meter_index, size_t max, Lane lane) = 0;
    /// Moves every waiting sample to the backlog; samples appended from now on are live.
    virtual void start_live() = 0;
    /// Puts taken samples back so the next take returns them again (send again).
    virtual void release(const std::vector<uint64_t>& ids) = 0;
    /// Deletes samples for good (delivered, or rejected by Kaa).
    virtual Status remove(const std::vector<uint64_t>& ids) = 0;
    /// True when the meter has samples in `lane` that are not taken.
    virtual bool has_pending(size_t meter_index, Lane lane) const = 0;
    /// Takes up to `max` of the meter's oldest samples, backlog before live.
    std::vector<StoredSample> take(size_t meter_index, size_t max) {
        std::vector<StoredSample> out = take(meter_index, max, Lane::kBacklog);
        if (out.size() < max) {
            std::vector<StoredSample> live = take(meter_index, max - out.size(), Lane::kLive);
            out.insert(out.end(), std::make_move_iterator(live.begin()),
                       std::make_move_iterator(live.end()));
        }
        return out;
    }
    /// True when the meter has samples in either lane that are not taken.
    bool has_pending(size_t meter_index) const {
        return has_pending(meter_index, Lane::kLive) || has_pending(meter_index, Lane::kBacklog);
    }
    /// Current figures.
    virtual StoreStats stats() const = 0;
    /// The read time of the oldest sample waiting (of a meter in the configuration), or
    /// nullopt when none waits; may read the store, so it is meant for the status only.
    virtual std::optional<int64_t> oldest_read_ms() { return std::nullopt; }
    /// A meter added by a configuration reload: it gets the next index, and samples already
    /// stored under its name (from an earlier configuration) become its own again.
    virtual size_t add_meter(const std::string& name) = 0;
    /// Does up to `max_rows` rows of deferred clean-up (rows of delivered samples that are
    /// deleted later, off the delivery path); true while more is left to do.
    virtual bool compact(size_t max_rows) {
        (void)max_rows;
        return false;
    }
    /// The clock was synchronised after the store opened: adds `offset_ms` to the read time
    /// of every sample it took since it opened and still holds (all read before the sync).
    virtual Status shift_read_times(int64_t offset_ms) = 0;
    /// Checks that the store's file is still there (a file store); a file deleted or
    /// replaced meanwhile is written again from what the store holds.
    virtual Status check_file() { return {}; }
    /// When the commits made since the last fsync must be made durable, so that a power
    /// cut loses at most the readings of the last sync interval even when no append
    /// follows; nullopt when every commit is durable (or the store keeps nothing on disk).
    virtual std::optional<std::chrono::steady_clock::time_point> sync_due() const {
        return std::nullopt;
    }
    /// Makes every commit so far durable (an fsync of the store's log).
    virtual Status sync() { return {}; }
};

}  // namespace kaa
