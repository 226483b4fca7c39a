// Running a command's writes or reads on a meter's bus.
#include "drivers/modbus/meter_jobs.hpp"

#include "drivers/modbus/meter_poller.hpp"

namespace kaa::modbus {
namespace {

PlannedRead read_of(const WriteRequest& request) {
    PlannedRead read;
    read.function = request.function;
    read.address = request.address;
    read.count = static_cast<uint16_t>(request.words.size());
    return read;
}

}  // namespace

MeterJobResult run_meter_job(BusLine& line, MeterPoller& poller, const MeterJob& job) {
    const int unit = poller.config().unit;
    MeterJobResult out;
    if (!job.writes.empty()) {
        bool failed = false;
        for (const WriteRequest& request : job.writes) {
            WriteResult result;
            if (failed) {
                result.status =
                    make_error(ErrorKind::kUnavailable, "not written: an earlier write failed");
            } else {
                result.before = line.read(unit, read_of(request));
                // A meter that does not answer the read will not answer the write: the
                // command is answered after one timeout, not two. A refused read (some
                // registers are write-only) does not stop the write.
                const bool silent =
                    !result.before.ok() && (result.before.error().kind == ErrorKind::kTimeout ||
                                            result.before.error().kind == ErrorKind::kUnavailable);
                result.status = silent ? Status(result.before.error()) : line.write(unit, request);
                failed = !result.status.ok();
            }
            if (result.status.ok())
                result.read_back = line.read(unit, read_of(request));
            out.writes.push_back(std::move(result));
        }
        return out;
    }
    MeterPoller::DirectRead read = poller.read_now(line, job.reads);
    out.readings = std::move(read.readings);
    out.problems = std::move(read.problems);
    out.status = std::move(read.status);
    return out;
}

MeterJobResult failed_job(const MeterJob& job, Status status) {
    MeterJobResult out;
    for (size_t i = 0; i < job.writes.size(); ++i) {
        WriteResult r;
        r.status = status;
        out.writes.push_back(std::move(r));
    }
    out.status = std::move(status);
    return out;
}

}  // namespace kaa::modbus
