// Names and sizes of the configuration's enumerations.
#include "config/config.hpp"

#include <algorithm>
#include <cfloat>

namespace kaa::config {

namespace {

/// The raw range of an integer or float type.
std::pair<double, double> raw_range(ValueType type) {
    switch (type) {
        case ValueType::kInt16:
            return {-32768.0, 32767.0};
        case ValueType::kUint16:
            return {0.0, 65535.0};
        case ValueType::kInt32:
            return {-2147483648.0, 2147483647.0};
        case ValueType::kUint32:
            return {0.0, 4294967295.0};
        case ValueType::kInt64:
            return {-9223372036854775808.0, 9223372036854774784.0};
        case ValueType::kUint64:
            return {0.0, 18446744073709549568.0};
        case ValueType::kFloat32:
            return {-FLT_MAX, FLT_MAX};
        case ValueType::kFloat64:
            return {-DBL_MAX, DBL_MAX};
        case ValueType::kBool:
            return {0.0, 1.0};
        case ValueType::kString:
            break;
    }
    return {0.0, 0.0};
}

}  // namespace

std::pair<double, double> writable_range(const RegisterConfig& reg) {
    const auto [raw_low, raw_high] = raw_range(reg.type);
    const double a = raw_low * reg.scale + reg.offset;
    const double b = raw_high * reg.scale + reg.offset;
    return {std::min(a, b), std::max(a, b)};
}

int register_count(ValueType type, int string_length) {
    switch (type) {
        case ValueType::kBool:
        case ValueType::kInt16:
        case ValueType::kUint16:
            return 1;
        case ValueType::kInt32:
        case ValueType::kUint32:
        case ValueType::kFloat32:
            return 2;
        case ValueType::kInt64:
        case ValueType::kUint64:
        case ValueType::kFloat64:
            return 4;
        case ValueType::kString:
            return string_length;
    }
    return 1;
}

const char* to_string(RegisterFunction f) {
    switch (f) {
        case RegisterFunction::kCoil:
            return "coil";
        case RegisterFunction::kDiscrete:
            return "discrete";
        case RegisterFunction::kHolding:
            return "holding";
        case RegisterFunction::kInput:
            return "input";
    }
    return "?";
}

const char* to_string(ValueType t) {
    switch (t) {
        case ValueType::kBool:
            return "bool";
        case ValueType::kInt16:
            return "int16";
        case ValueType::kUint16:
            return "uint16";
        case ValueType::kInt32:
            return "int32";
        case ValueType::kUint32:
            return "uint32";
        case ValueType::kInt64:
            return "int64";
        case ValueType::kUint64:
            return "uint64";
        case ValueType::kFloat32:
            return "float32";
        case ValueType::kFloat64:
            return "float64";
        case ValueType::kString:
            return "string";
    }
    return "?";
}

const char* to_string(ByteOrder b) {
    switch (b) {
        case ByteOrder::kABCD:
            return "ABCD";
        case ByteOrder::kCDAB:
            return "CDAB";
        case ByteOrder::kBADC:
            return "BADC";
        case ByteOrder::kDCBA:
            return "DCBA";
    }
    return "?";
}

const char* to_string(Parity p) {
    switch (p) {
        case Parity::kNone:
            return "none";
        case Parity::kEven:
            return "even";
        case Parity::kOdd:
            return "odd";
    }
    return "?";
}

const char* to_string(Delivery d) {
    switch (d) {
        case Delivery::kStatus:
            return "status";
        case Delivery::kPuback:
            return "puback";
        case Delivery::kNone:
            return "none";
    }
    return "?";
}

const char* to_string(Overflow o) {
    switch (o) {
        case Overflow::kDropOldest:
            return "drop-oldest";
        case Overflow::kDropNewest:
            return "drop-newest";
    }
    return "?";
}

const char* to_string(ReportMode r) {
    switch (r) {
        case ReportMode::kMeterDefault:
            return "meter-default";
        case ReportMode::kEveryPoll:
            return "every_poll";
        case ReportMode::kOnChange:
            return "on_change";
    }
    return "?";
}

std::string format_duration(Millis d) {
    const auto ms = d.count();
    if (ms != 0 && ms % 3'600'000 == 0)
        return std::to_string(ms / 3'600'000) + "h";
    if (ms != 0 && ms % 60'000 == 0)
        return std::to_string(ms / 60'000) + "min";
    if (ms != 0 && ms % 1000 == 0)
        return std::to_string(ms / 1000) + "s";
    return std::to_string(ms) + "ms";
}

}  // namespace kaa::config
