#pragma once
// SampleStore: the one place a sample waits between its poll and Kaa's confirmation.
// The uplink takes batches out, and either removes them (delivered, or rejected for
// good) or releases them to be sent again.

#include <cstdint>
#include <string>
#include <vector>

#include "daemon/core/result.hpp"
#include "daemon/core/sample.hpp"

namespace kaa {

/// A sample as stored: its sequence id orders samples of a meter.
struct StoredSample {
    uint64_t id = 0;
    size_t meter_index = 0;
    int64_t timestamp_ms = 0;
    std::string json;
};

/// Figures about a store, for status lines and tests.
struct StoreStats {
    uint64_t samples = 0;           // waiting (pending or taken)
    uint64_t bytes = 0;             // payload bytes waiting
    uint64_t dropped_overflow = 0;  // samples dropped because the store was full
};

/// Durable or in-memory queue of samples per meter.
class SampleStore {
  public:
    virtual ~SampleStore() = default;
    /// Adds the samples of one poll round (one transaction); may drop per overflow policy.
    virtual Status append(const std::vector<Sample>& samples) = 0;
    /// Takes up to `max` of the meter's oldest samples that are not already taken.
    virtual std::vector<StoredSample> take(size_t meter_index, size_t max) = 0;
    /// Puts taken samples back so the next take returns them again (send again).
    virtual void release(const std::vector<uint64_t>& ids) = 0;
    /// Deletes samples for good (delivered, or rejected by Kaa).
    virtual Status remove(const std::vector<uint64_t>& ids) = 0;
    /// True when the meter has samples that are not taken.
    virtual bool has_pending(size_t meter_index) const = 0;
    /// Current figures.
    virtual StoreStats stats() const = 0;
    /// A meter added by a configuration reload: it gets the next index, and samples already
    /// stored under its name (from an earlier configuration) become its own again.
    virtual size_t add_meter(const std::string& name) = 0;
};

}  // namespace kaa
