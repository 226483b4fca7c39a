#pragma once
// Reading of the gateway's buses: and meters: lists (internal to the config loader:
// it reads YAML nodes through yaml_reader.hpp).

#include <vector>

#include "config/config.hpp"
#include "config/profiles.hpp"
#include "config/yaml_reader.hpp"

namespace kaa::config {

/// Reads the `buses` list of the top-level mapping: unique names, one link each.
std::vector<BusConfig> read_buses(const MapReader& top);

/// Reads the `meters` list of the top-level mapping, checking names, tokens, bus
/// references, unit ids, metadata and registers against the already read buses.
/// A register named like `timestamp_key` (the field that carries the read time) is an error.
/// A meter's `profile: ID` is looked up in `profile_dirs` (config/profiles.hpp).
std::vector<MeterConfig> read_meters(const MapReader& top, const std::vector<BusConfig>& buses,
                                     const std::string& timestamp_key,
                                     const std::vector<std::string>& profile_dirs);
/// Reads the meter keys of a profile file (max_gap, max_registers, metadata_registers,
/// registers) with the same checks as a meter's.
void read_profile_body(const MapReader& top, MeterProfile& out);

/// True for a key a DCX sample may carry: [A-Za-z0-9_-]+, not purely numeric.
bool is_sample_key(const std::string& key);

}  // namespace kaa::config
