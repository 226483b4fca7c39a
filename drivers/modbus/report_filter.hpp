#pragma once
// ReportFilter: a meter's reporting rules applied to its polls. A register with
// `report: on_change` goes into a sample only when its value moved by more than its
// deadband since the value last sent, and with every other value at least every
// `heartbeat`; `every_poll` registers go into every sample. A value is only ever sent
// with the time it was read: nothing is re-sent without a new read, and a read that
// failed sends no value for an on_change register (never a stale one, never a zero).

#include <cstdint>
#include <optional>
#include <vector>

#include "config/config.hpp"
#include "core/sample.hpp"

namespace kaa::modbus {

/// Keeps, per register of one meter, the value last sent, and filters its samples.
class ReportFilter {
  public:
    explicit ReportFilter(const config::MeterConfig& meter);
    /// Removes from `sample` the readings its rules hold back; false when nothing is left
    /// to send (the sample is then not sent at all). Readings are in register order.
    bool apply(Sample& sample);
    /// True when no register reports on change: apply() keeps every sample whole.
    bool passes_everything() const { return !any_on_change_; }

  private:
    /// True when `now` differs from `last` by more than the register's deadband.
    static bool moved(const config::RegisterConfig& reg, const Value& last, const Value& now);

    const config::MeterConfig& meter_;
    bool any_on_change_ = false;
    std::vector<std::optional<Value>> sent_;  // per register: the value last sent
    std::optional<int64_t> last_full_ms_;     // read time of the last sample with every value
};

}  // namespace kaa::modbus
