// Cutting a DCX batch by bytes: exact sizes, not estimates, so the bound always holds.
#include "daemon/kaa/sample_batch.hpp"

#include "daemon/kaa/sample_payload.hpp"

namespace kaa::uplink {

SampleBatch build_sample_batch(const std::vector<StoredSample>& samples, size_t max_bytes,
                               const config::TimestampField& field) {
    SampleBatch batch;
    size_t reserve = 2;
    for (const auto& s : samples)
        reserve += sample_json_bound(s.record, field) + 1;
    batch.payload.reserve(std::min(reserve, max_bytes + 1));
    batch.payload.push_back('[');
    batch.sent.reserve(samples.size());
    size_t i = 0;
    for (; i < samples.size(); ++i) {
        const StoredSample& s = samples[i];
        const size_t before = batch.payload.size();
        if (!batch.sent.empty())
            batch.payload.push_back(',');
        if (!append_sample_json(batch.payload, s.read_ms, s.record, field)) {
            batch.payload.resize(before);
            batch.bad_time.push_back(s.id);
            continue;
        }
        // +1 for the closing bracket.
        if (batch.payload.size() + 1 > max_bytes) {
            if (batch.sent.empty()) {
                batch.oversized = true;
            } else {
                batch.payload.resize(before);
                break;
            }
        }
        if (batch.sent.empty())
            batch.first_read_ms = s.read_ms;
        batch.last_read_ms = s.read_ms;
        batch.sent.push_back(s.id);
        if (batch.oversized)
            break;
    }
    for (size_t j = batch.oversized ? i + 1 : i; j < samples.size(); ++j)
        batch.left.push_back(samples[j].id);
    if (batch.sent.empty()) {
        batch.payload.clear();
    } else {
        batch.payload.push_back(']');
    }
    return batch;
}

}  // namespace kaa::uplink
