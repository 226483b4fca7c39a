// Counting a meter's transactions by outcome, and the words the status uses for states.
#include "drivers/modbus/meter_health.hpp"

namespace kaa::modbus {

void TransactionCounts::count(const Error* error) {
    ++requests;
    if (error == nullptr) {
        ++answered;
        return;
    }
    switch (error->kind) {
        case ErrorKind::kTimeout:
            ++timeouts;
            break;
        case ErrorKind::kModbusException:
            ++exceptions;
            break;
        case ErrorKind::kBadResponse:
            ++bad_frames;
            break;
        default:
            ++link_errors;
            break;
    }
}

const char* meter_state_name(MeterState state) {
    switch (state) {
        case MeterState::kOk:
            return "ok";
        case MeterState::kFailing:
            return "failing";
        case MeterState::kWaiting:
            break;
    }
    return "waiting";
}

const char* bus_state_name(BusState state) {
    switch (state) {
        case BusState::kOpen:
            return "open";
        case BusState::kClosed:
            return "closed";
        case BusState::kDown:
            return "down";
        case BusState::kStarting:
            break;
    }
    return "starting";
}

}  // namespace kaa::modbus
