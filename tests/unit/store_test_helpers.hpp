#pragma once
// Helpers the sample-store tests share: what a take() returned, as read times and as ids.

#include <cstdint>
#include <vector>

#include "daemon/buffer/sample_store.hpp"

namespace kaa::testing {

/// The read times of taken samples (in these tests a sample's read time is its number).
inline std::vector<int64_t> stamps(const std::vector<StoredSample>& taken) {
    std::vector<int64_t> out;
    for (const auto& s : taken)
        out.push_back(s.read_ms);
    return out;
}

/// The ids of taken samples, to release or remove them.
inline std::vector<uint64_t> ids_of(const std::vector<StoredSample>& taken) {
    std::vector<uint64_t> out;
    for (const auto& s : taken)
        out.push_back(s.id);
    return out;
}

}  // namespace kaa::testing
