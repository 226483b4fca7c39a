#pragma once
// Meter jobs: work a Kaa command asks of one meter (11/CEP `write` and `read`), queued on the
// meter's bus and run by its worker between two polls.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/result.hpp"
#include "core/sample.hpp"
#include "drivers/modbus/write_plan.hpp"

namespace kaa::modbus {

class BusLine;
class MeterPoller;

/// What one write of a job came to: its status, the registers before it (for the log: old
/// -> new) and the registers read back after it (for the answer).
struct WriteResult {
    Status status;
    Result<std::vector<uint16_t>> before = make_error(ErrorKind::kInternal, "not read");
    Result<std::vector<uint16_t>> read_back = make_error(ErrorKind::kInternal, "not read");
};

/// What a job came to.
struct MeterJobResult {
    std::vector<WriteResult> writes;    // a write job: one per request, in order
    std::vector<Reading> readings;      // a read job: one per register asked for, in order
    std::vector<std::string> problems;  // a read job: why registers were not read
    /// Not ok when the job could not run at all (the bus cannot be opened, the worker stops)
    /// or, for a read job, when the meter stopped answering (timeout).
    Status status;
};

/// The work of one command for one meter of a bus, and where its outcome goes.
struct MeterJob {
    size_t meter_index = 0;                     // into config.meters; a meter of this bus
    std::vector<WriteRequest> writes;           // written in order; a failure skips the rest
    std::vector<config::RegisterConfig> reads;  // a read job: these registers, decoded
    /// Called once, on the bus thread, with the outcome.
    std::function<void(MeterJobResult)> done;
};

/// Runs `job` for `poller`'s meter on `line`: each write is preceded by a read of the same
/// registers and followed by a read-back; a read job reads and decodes its registers.
MeterJobResult run_meter_job(BusLine& line, MeterPoller& poller, const MeterJob& job);

/// The outcome of a job that could not run: `status` says why.
MeterJobResult failed_job(const MeterJob& job, Status status);

}  // namespace kaa::modbus
