#pragma once
// Kaa's JSON for one sample (2/DCP): the read time under its key, then every value that was
// read, from the buffer's record (daemon/buffer/sample_record.hpp).

#include <cstdint>
#include <string>
#include <string_view>

namespace kaa::uplink {

/// Appends {"timestamp":<read_ms>,<name>:<value>,...} to `out`, leaving out the values the
/// record holds as null (not read this poll).
void append_sample_json(std::string& out, int64_t read_ms, std::string_view record);

/// The size append_sample_json adds at most, for reserving a batch's payload.
size_t sample_json_bound(std::string_view record);

}  // namespace kaa::uplink
