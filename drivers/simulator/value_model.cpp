#include "drivers/simulator/value_model.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <numbers>

namespace kaa::sim {
namespace {

using config::ValueType;

double to_number(const modbus::Value& v) {
    if (const auto* b = std::get_if<bool>(&v)) {
        return *b ? 1.0 : 0.0;
    }
    if (const auto* i = std::get_if<int64_t>(&v)) {
        return static_cast<double>(*i);
    }
    if (const auto* u = std::get_if<uint64_t>(&v)) {
        return static_cast<double>(*u);
    }
    if (const auto* d = std::get_if<double>(&v)) {
        return *d;
    }
    return std::strtod(std::get<std::string>(v).c_str(), nullptr);
}

bool is_integer_type(ValueType t) {
    switch (t) {
        case ValueType::kInt16:
        case ValueType::kUint16:
        case ValueType::kInt32:
        case ValueType::kUint32:
        case ValueType::kInt64:
        case ValueType::kUint64:
            return true;
        default:
            return false;
    }
}

bool is_signed_type(ValueType t) {
    return t == ValueType::kInt16 || t == ValueType::kInt32 || t == ValueType::kInt64;
}

// The range of an integer type, as doubles that convert back without overflow.
void integer_range(ValueType t, double& lo, double& hi) {
    constexpr double two63 = 9223372036854775808.0;
    constexpr double two64 = 18446744073709551616.0;
    switch (t) {
        case ValueType::kInt16:
            lo = -32768.0;
            hi = 32767.0;
            return;
        case ValueType::kUint16:
            lo = 0.0;
            hi = 65535.0;
            return;
        case ValueType::kInt32:
            lo = -2147483648.0;
            hi = 2147483647.0;
            return;
        case ValueType::kUint32:
            lo = 0.0;
            hi = 4294967295.0;
            return;
        case ValueType::kInt64:
            lo = -two63;
            hi = std::nextafter(two63, 0.0);
            return;
        default:
            lo = 0.0;
            hi = std::nextafter(two64, 0.0);
            return;
    }
}

}  // namespace

ValueModel::ValueModel(const config::SimRegisterConfig& reg)
    : type_(reg.reg.type),
      initial_(reg.value.is_null() ? modbus::Value(int64_t{0})
                                   : modbus::value_from_json(reg.value)),
      step_(reg.step_per_second),
      wander_(std::abs(reg.wander)) {
    if (type_ == ValueType::kString && !std::holds_alternative<std::string>(initial_)) {
        initial_ = reg.value.is_null() ? std::string() : reg.value.dump();
    }
    initial_number_ = type_ == ValueType::kString ? 0.0 : to_number(initial_);
    const bool numeric = type_ != ValueType::kString && type_ != ValueType::kBool;
    moving_ = numeric && (step_ != 0.0 || wander_ != 0.0);
    // Periods between 20 and 42 s and between 11 and 23 s, chosen by the address so that
    // neighbouring registers do not move in lockstep.
    const unsigned address = reg.reg.address;
    period1_s_ = 20.0 + static_cast<double>((address * 7u) % 23u);
    period2_s_ = 11.0 + static_cast<double>((address * 5u) % 13u);
}

double ValueModel::wander_offset(double elapsed_s) const {
    if (wander_ == 0.0) {
        return 0.0;
    }
    constexpr double two_pi = 2.0 * std::numbers::pi;
    const double a = std::sin(two_pi * elapsed_s / period1_s_);
    const double b = std::sin(two_pi * elapsed_s / period2_s_);
    return wander_ * (0.6 * a + 0.4 * b);
}

modbus::Value ValueModel::at(double elapsed_s) const {
    if (type_ == ValueType::kString) {
        return initial_;
    }
    if (type_ == ValueType::kBool) {
        return initial_number_ != 0.0;
    }
    const bool keep_exact_integer = !moving_ && (std::holds_alternative<int64_t>(initial_) ||
                                                 std::holds_alternative<uint64_t>(initial_));
    if (is_integer_type(type_) && keep_exact_integer) {
        return initial_;
    }
    double x = initial_number_;
    if (moving_) {
        x += step_ * elapsed_s + wander_offset(elapsed_s);
    }
    if (!is_integer_type(type_)) {
        return x;
    }
    double lo = 0;
    double hi = 0;
    integer_range(type_, lo, hi);
    x = std::isnan(x) ? 0.0 : std::clamp(std::round(x), lo, hi);
    if (is_signed_type(type_)) {
        return static_cast<int64_t>(x);
    }
    return static_cast<uint64_t>(x);
}

}  // namespace kaa::sim
