#pragma once
// Reading a meter's `writable:` list: the registers a Kaa `write` command may change
// (internal to the config loader).

#include <vector>

#include "config/config.hpp"
#include "config/yaml_reader.hpp"

namespace kaa::config {

/// Reads the `writable` list of meter mapping `m`: each entry a holding register or a
/// coil with the shared register keys, scale and offset, `min`/`max` in the value's units
/// (each must be writable in the type with that scale and offset) and `write_multiple`;
/// names unique among the meter's writable registers.
std::vector<WritableConfig> read_writable_list(const MapReader& m);

}  // namespace kaa::config
