#pragma once
// Reading of the reporting rules: a register's `report`, `deadband` and `deadband_percent`,
// a meter's `report` default and `heartbeat`.

#include "config/config.hpp"
#include "config/yaml_reader.hpp"

namespace kaa::config {

/// The keys a polled register may carry for its reporting rule.
inline const std::vector<std::string> kReportRegisterKeys = {"report", "deadband",
                                                             "deadband_percent"};
/// The keys a meter may carry for its registers' reporting.
inline const std::vector<std::string> kReportMeterKeys = {"report", "heartbeat"};

/// Reads a polled register's reporting rule into `reg` (its type is read already).
void read_register_report(const MapReader& r, RegisterConfig& reg);

/// Reads the meter's `report` default and `heartbeat`, and gives every register without a
/// `report` of its own (its profile's too) the meter's.
void read_meter_report(const MapReader& m, MeterConfig& meter);

}  // namespace kaa::config
