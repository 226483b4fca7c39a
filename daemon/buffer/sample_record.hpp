#pragma once
// The form in which the buffer keeps a sample's readings: a JSON object with one key per
// register, in register order, holding the decoded value, or null where the reading has no
// good value. Readable with the sqlite3 shell; the uplink turns it into Kaa's payload.

#include <string>
#include <vector>

#include "core/sample.hpp"
#include "daemon/buffer/sample_store.hpp"

namespace kaa::buffer {

/// The record of a sample's readings, e.g. {"voltage":230.1,"energy":null}.
std::string encode_record(const std::vector<Reading>& readings);

/// The sample in the buffer's form, ready to append.
BufferedSample to_buffered(const Sample& sample);

}  // namespace kaa::buffer
