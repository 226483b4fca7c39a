#pragma once
// Lossless conversion of the typed configuration (and of a whole LoadResult) to and from
// nlohmann::json. isolated_loader.cpp uses it to carry a LoadResult out of the child
// process that parsed the YAML file; tests use it to compare two configurations field by
// field.
//
// The document mirrors the structs: one object per struct with the field names as keys,
// durations as integer milliseconds ("keepalive_ms"), enumerations as the words users
// write in YAML ("holding", "drop-oldest"), absent optionals (kaa.tls, kaa.auth, the
// config of a failed load) as null, a bus link as exactly one of "rtu" / "tcp", meter
// metadata as it is, and every Location as {"file", "line", "column"}.

#include <optional>

#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "config/config_loader.hpp"

namespace kaa::config {

/// The JSON document of a configuration; every field of every struct is written.
nlohmann::json to_json(const GatewayConfig& config);

/// The configuration a to_json(GatewayConfig) document describes; nullopt when a key is
/// missing or has the wrong type or range. Never throws (except std::bad_alloc).
std::optional<GatewayConfig> gateway_config_from_json(const nlohmann::json& doc);

/// The JSON document of one meter, as it appears in the "meters" list of a configuration.
nlohmann::json to_json(const MeterConfig& meter);

/// The meter a to_json(MeterConfig) document describes; nullopt when it is malformed.
std::optional<MeterConfig> meter_config_from_json(const nlohmann::json& doc);

/// The JSON document of a load: {"config": object or null, "errors": [...], "warnings": [...]},
/// each message as {"file", "line", "column", "message"}.
nlohmann::json to_json(const LoadResult& result);

/// The LoadResult a to_json(LoadResult) document describes; nullopt on a malformed
/// document. Never throws (except std::bad_alloc).
std::optional<LoadResult> load_result_from_json(const nlohmann::json& doc);

}  // namespace kaa::config
