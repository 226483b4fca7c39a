#pragma once
// Sample and MetadataUpdate: what a bus worker hands to the uplink.

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace kaa {

/// One poll of one meter: the JSON object Kaa receives, already serialised.
struct Sample {
    size_t meter_index = 0;    // index of the meter in GatewayConfig::meters
    int64_t timestamp_ms = 0;  // when it was read (ms since epoch), also inside json
    std::string json;          // {"timestamp":...,"<register>":value,...}
};

/// A meter's EPMP metadata keys (static keys plus decoded metadata registers).
struct MetadataUpdate {
    size_t meter_index = 0;
    nlohmann::json keys = nlohmann::json::object();
};

}  // namespace kaa
