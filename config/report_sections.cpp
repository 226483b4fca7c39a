// The reporting rules of registers and meters.
#include "config/report_sections.hpp"

#include <cmath>

#include "config/common_sections.hpp"

namespace kaa::config {
namespace {

const std::vector<std::pair<std::string, ReportMode>> kReportModes = {
    {"every_poll", ReportMode::kEveryPoll}, {"on_change", ReportMode::kOnChange}};

/// The longest heartbeat: a day (a meter silent longer looks dead to anyone watching).
constexpr Millis kMaxHeartbeat = std::chrono::hours(24);

}  // namespace

void read_register_report(const MapReader& r, RegisterConfig& reg) {
    if (auto v = r.choice("report", kReportModes))
        reg.report = *v;
    const bool absolute = r.has("deadband");
    const bool percent = r.has("deadband_percent");
    if (!absolute && !percent)
        return;
    const char* key = absolute ? "deadband" : "deadband_percent";
    if (absolute && percent) {
        r.fail("deadband_percent", "cannot be used with deadband: give one of them");
        return;
    }
    if (!is_numeric(reg.type)) {
        r.fail(key, std::string("is not allowed with type ") + to_string(reg.type) +
                        " (a change of text or of a bit is always sent)");
        return;
    }
    if (reg.report == ReportMode::kEveryPoll) {
        r.fail(key, "needs report: on_change (with every_poll each value is sent anyway)");
        return;
    }
    const auto v = r.number(key);
    if (!v)
        return;
    if (*v < 0) {
        r.fail(key, "must be 0 or more, got " + r.get(key).Scalar());
        return;
    }
    reg.report = ReportMode::kOnChange;  // a deadband says it
    reg.deadband = *v;
    reg.deadband_percent = percent;
}

void read_meter_report(const MapReader& m, MeterConfig& meter) {
    if (auto v = m.choice("report", kReportModes))
        meter.report = *v;
    if (auto v = m.duration("heartbeat")) {
        if (*v < std::chrono::seconds(1) || *v > kMaxHeartbeat) {
            m.fail("heartbeat", "must be between 1s and 24h, got " + m.get("heartbeat").Scalar());
        } else if (*v < meter.poll_interval) {
            m.fail("heartbeat", "must be at least the poll_interval (" +
                                    format_duration(meter.poll_interval) + "), got " +
                                    m.get("heartbeat").Scalar());
        } else {
            meter.heartbeat = *v;
        }
    }
    for (RegisterConfig& reg : meter.registers) {
        if (reg.report == ReportMode::kMeterDefault)
            reg.report = meter.report;
    }
    for (RegisterConfig& reg : meter.metadata_registers)
        reg.report = ReportMode::kEveryPoll;  // metadata goes out on change by itself
}

}  // namespace kaa::config
