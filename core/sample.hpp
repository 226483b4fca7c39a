#pragma once
// Sample and MetadataUpdate: what a bus worker hands over. A sample is typed: the meter,
// the time it was read, and each register's value with its quality; how it is written
// for Kaa (field names, timestamp format) is the uplink's business.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/value.hpp"

namespace kaa {

/// How trustworthy one value of a sample is.
enum class Quality : uint8_t {
    kGood = 0,     // read and decoded
    kReadFailed,   // the meter did not give it this poll (exception, timeout): no value
    kUnencodable,  // decoded to something a payload cannot carry (NaN, infinity)
};

/// One register's reading in a sample.
struct Reading {
    std::string name;  // the register's name in the configuration
    Value value;       // meaningful only when quality is kGood
    Quality quality = Quality::kGood;
};

/// One poll of one meter.
struct Sample {
    size_t meter_index = 0;         // index of the meter in GatewayConfig::meters
    int64_t read_ms = 0;            // when it was read (ms since the Unix epoch)
    std::vector<Reading> readings;  // in the order of the meter's registers
    int64_t read_mono_ms = 0;       // when it was read on the monotonic clock (ClockWatch)
};

/// A meter's EPMP metadata keys (static keys plus decoded metadata registers).
struct MetadataUpdate {
    size_t meter_index = 0;
    nlohmann::json keys = nlohmann::json::object();
};

}  // namespace kaa
