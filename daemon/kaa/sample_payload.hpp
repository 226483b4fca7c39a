#pragma once
// Kaa's JSON for one sample (2/DCP): the read time under its configured key and format, then
// every value that was read, from the buffer's record (daemon/buffer/sample_record.hpp).

#include <cstdint>
#include <string>
#include <string_view>

#include "config/timestamp_format.hpp"

namespace kaa::uplink {

/// The earliest and latest read times a sample may carry (1970-01-01 and 2200-01-01 UTC):
/// outside them the clock was wrong, and Kaa would file the sample at a nonsense time.
constexpr int64_t kEarliestReadMs = 0;
constexpr int64_t kLatestReadMs = 7'258'118'400'000;

/// True when a read time can be written in every format.
inline bool read_time_in_range(int64_t read_ms) {
    return read_ms >= kEarliestReadMs && read_ms < kLatestReadMs;
}

/// Appends the read time as `field.format` writes it (a JSON number or string) to `out`.
/// The read time must be in range (read_time_in_range).
void append_read_time(std::string& out, int64_t read_ms, config::TimestampFormat format);

/// Appends {"<key>":<read time>,<name>:<value>,...} to `out`, leaving out the values the
/// record holds as null (not read this poll). False, with `out` unchanged, when the read
/// time is out of range: such a sample must not be sent.
bool append_sample_json(std::string& out, int64_t read_ms, std::string_view record,
                        const config::TimestampField& field = {});

/// The size append_sample_json adds at most, for reserving and bounding a batch's payload.
size_t sample_json_bound(std::string_view record, const config::TimestampField& field = {});

}  // namespace kaa::uplink
