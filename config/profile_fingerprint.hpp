#pragma once
// Reading of a profile's fingerprint: section, how `kaa-gateway scan` recognises the model
// (internal to config/: it reads YAML nodes through yaml_reader.hpp).

#include "config/profiles.hpp"
#include "config/yaml_reader.hpp"

namespace kaa::config {

/// Reads the optional `fingerprint` list of a profile file's top level into out.fingerprint:
/// each entry a register (address, function, type, byte_order, length) and exactly one test,
/// `one_of: [...]`, `min:`/`max:` or `readable: true`. Errors go to top's diagnostics.
void read_fingerprint(const MapReader& top, MeterProfile& out);

}  // namespace kaa::config
