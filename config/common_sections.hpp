#pragma once
// Sections the gateway and simulator configurations share: the link of a bus (rtu: or
// tcp:) and the keys that place and encode a register (internal to config/: it reads
// YAML nodes through yaml_reader.hpp).

#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "config/config.hpp"
#include "config/yaml_reader.hpp"

namespace kaa::config {

/// A bus link: a serial line or a TCP endpoint.
using Link = std::variant<RtuLink, TcpLink>;

/// The register keys shared by gateway and simulator: name, address, function, type,
/// byte_order, length.
inline const std::vector<std::string> kRegisterKeys = {"name", "address",    "function",
                                                       "type", "byte_order", "length"};

/// Register functions as written in YAML.
extern const std::vector<std::pair<std::string, RegisterFunction>> kFunctionNames;
/// Value types as written in YAML.
extern const std::vector<std::pair<std::string, ValueType>> kTypeNames;

/// Reads exactly one of the `rtu` and `tcp` keys of r; reports both, neither, and errors
/// inside the link. nullopt when no usable link was read.
std::optional<Link> read_link(const MapReader& r);

/// Reads the shared register keys of r (see kRegisterKeys); the name is optional or
/// required as `name` says. Coils and discrete inputs default to type bool and accept no
/// other; strings need a length of 1..123 registers, other types accept none; the value
/// must end at or before address 65535. Errors go to r's diagnostics.
RegisterConfig read_register(const MapReader& r, Need name);

/// True for the types that hold a number: everything but bool and string.
inline bool is_numeric(ValueType type) {
    return type != ValueType::kBool && type != ValueType::kString;
}

/// The keys of two lists, concatenated.
std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b);

}  // namespace kaa::config
