#pragma once
// How a simulated register's value moves with time: constant, a counter rising at a fixed
// rate, or a gauge wandering smoothly and deterministically around its initial value.

#include "config/sim_config.hpp"
#include "drivers/modbus/register_codec.hpp"

namespace kaa::sim {

/// The value of one simulated register as a function of the seconds since the start.
class ValueModel {
  public:
    /// Builds the model from the register's initial value, step_per_second and wander.
    explicit ValueModel(const config::SimRegisterConfig& reg);

    /// True when the value changes with time (non-zero step or wander on a numeric type).
    bool moving() const { return moving_; }

    /// The value elapsed_s seconds after the start: initial + step * elapsed + a wander
    /// within +/- wander; integer types are rounded and clamped to their range.
    modbus::Value at(double elapsed_s) const;

    /// The offset of a wandering gauge at elapsed_s, always within +/- wander.
    double wander_offset(double elapsed_s) const;

  private:
    config::ValueType type_;
    modbus::Value initial_;
    double initial_number_ = 0;
    double step_ = 0;
    double wander_ = 0;
    double period1_s_ = 1;
    double period2_s_ = 1;
    bool moving_ = false;
};

}  // namespace kaa::sim
