// Reporting rules: on_change with a deadband, and the heartbeat.
#include "drivers/modbus/report_filter.hpp"

#include <cmath>

namespace kaa::modbus {
namespace {

/// A numeric value as a double; nullopt for text and bits.
std::optional<double> number_of(const Value& v) {
    if (const auto* d = std::get_if<double>(&v))
        return *d;
    if (const auto* i = std::get_if<int64_t>(&v))
        return static_cast<double>(*i);
    if (const auto* u = std::get_if<uint64_t>(&v))
        return static_cast<double>(*u);
    return std::nullopt;
}

}  // namespace

ReportFilter::ReportFilter(const config::MeterConfig& meter)
    : meter_(meter), sent_(meter.registers.size()) {
    for (const auto& reg : meter.registers)
        any_on_change_ = any_on_change_ || reg.report == config::ReportMode::kOnChange;
}

bool ReportFilter::moved(const config::RegisterConfig& reg, const Value& last, const Value& now) {
    const auto a = number_of(last);
    const auto b = number_of(now);
    if (!a || !b)
        return last != now;
    const double change = std::fabs(*b - *a);
    if (reg.deadband_percent) {
        if (*a == 0)
            return change > 0;
        return change > std::fabs(*a) * reg.deadband / 100.0;
    }
    // With no deadband any change counts, also one a double cannot tell (huge integers).
    return change > reg.deadband || (reg.deadband == 0 && last != now);
}

bool ReportFilter::apply(Sample& sample) {
    if (!any_on_change_)
        return true;
    // A clock stepped back since the last full sample starts the heartbeat again.
    const bool full = !last_full_ms_ || sample.read_ms < *last_full_ms_ ||
                      sample.read_ms - *last_full_ms_ >= meter_.heartbeat.count();
    std::vector<Reading> kept;
    kept.reserve(sample.readings.size());
    const size_t n = std::min(sample.readings.size(), meter_.registers.size());
    for (size_t i = 0; i < n; ++i) {
        Reading& r = sample.readings[i];
        const auto& reg = meter_.registers[i];
        if (reg.report != config::ReportMode::kOnChange) {
            kept.push_back(std::move(r));
            continue;
        }
        if (r.quality != Quality::kGood)
            continue;  // nothing read: nothing sent, and the last value sent stays the reference
        if (!full && sent_[i] && !moved(reg, *sent_[i], r.value))
            continue;
        sent_[i] = r.value;
        kept.push_back(std::move(r));
    }
    if (full)
        last_full_ms_ = sample.read_ms;
    sample.readings = std::move(kept);
    return !sample.readings.empty();
}

}  // namespace kaa::modbus
