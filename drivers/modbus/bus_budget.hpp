#pragma once
// BusBudget: how much of a bus's time its meters' polls need, estimated from frame
// sizes at the line's baud rate plus the silence between requests, against their poll
// intervals. `kaa-gatewayd --check` prints it; a plan that cannot fit is an error.

#include <chrono>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "drivers/modbus/request_planner.hpp"

namespace kaa::modbus {

/// The bus time one meter's poll takes, and the share of the bus it uses.
struct MeterBudget {
    std::string meter;
    size_t requests = 0;
    std::chrono::microseconds per_poll{0};
    config::Millis poll_interval{0};
    double utilisation = 0;  // per_poll / poll_interval
};

/// The estimate for one bus.
struct BusBudget {
    std::string bus;
    bool serial = false;  // TCP frames cost no line time: only the configured delays count
    std::vector<MeterBudget> meters;
    double utilisation = 0;                   // sum over meters; 1.0 = the bus is always busy
    std::chrono::microseconds dead_meter{0};  // what one poll of a silent meter costs
};

/// Estimates the bus time of every meter on `bus` with the plans the poller will use.
BusBudget estimate_bus_budget(const config::GatewayConfig& config, const config::BusConfig& bus);

/// Bus time of these reads on `bus`: each request and its reply at the line's baud rate,
/// plus the silence before each request (inter_request_delay, at least 3.5 characters).
/// On TCP only the configured delays count.
std::chrono::microseconds estimate_reads_time(const std::vector<PlannedRead>& reads,
                                              const config::BusConfig& bus);

/// Utilisation above which --check warns (the plan fits, but with little room).
constexpr double kBusWarnUtilisation = 0.7;

}  // namespace kaa::modbus
