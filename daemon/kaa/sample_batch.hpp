#pragma once
// One DCX publish cut from the samples a meter had waiting: Kaa's JSON array of as many of
// them as fit in the byte bound (at least one), in read order.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "config/timestamp_format.hpp"
#include "daemon/buffer/sample_store.hpp"

namespace kaa::uplink {

/// What build_sample_batch made of the samples it was given.
struct SampleBatch {
    std::string payload;             // [sample,sample,...]; "" when no sample went in
    std::vector<uint64_t> sent;      // ids of the samples in the payload, in order
    std::vector<uint64_t> left;      // ids that did not fit: give them back to the store
    std::vector<uint64_t> bad_time;  // ids whose read time cannot be sent (clock was wrong)
    int64_t first_read_ms = 0;       // read time of the first and last sample sent
    int64_t last_read_ms = 0;
    bool oversized = false;  // a single sample larger than the bound went alone
};

/// Cuts the batch: samples in order until the next would make the payload larger than
/// `max_bytes`; the first sample goes in whatever its size (then `oversized` is set).
SampleBatch build_sample_batch(const std::vector<StoredSample>& samples, size_t max_bytes,
                               const config::TimestampField& field);

}  // namespace kaa::uplink
