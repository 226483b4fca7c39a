#pragma once
// JobRunner: where the command center queues meter jobs (the bus workers in the daemon).

#include "core/result.hpp"
#include "drivers/modbus/meter_jobs.hpp"

namespace kaa::commands {

/// Hands meter jobs to the meters' buses.
class JobRunner {
  public:
    virtual ~JobRunner() = default;
    /// Queues `job` on its meter's bus; the error says why not (the bus is not running, or
    /// its queue is full).
    virtual Status submit(modbus::MeterJob job) = 0;
};

}  // namespace kaa::commands
