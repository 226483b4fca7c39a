#pragma once
// What a bus worker tells the status about its bus and meters: per meter the health, the
// last good read and its values, and its Modbus transactions counted by outcome; per bus
// whether the link is open, its last error and the time it spent on the wire.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "core/sample.hpp"

namespace kaa::modbus {

/// One meter's Modbus transactions by outcome; every attempt counts (retries too).
struct TransactionCounts {
    uint64_t requests = 0;
    uint64_t answered = 0;
    uint64_t timeouts = 0;
    uint64_t exceptions = 0;   // the meter answered with a Modbus exception
    uint64_t bad_frames = 0;   // CRC, length, unit or function wrong
    uint64_t link_errors = 0;  // the link failed under the request

    /// Counts one attempt: `error` null when it was answered.
    void count(const Error* error);
};

/// Whether a meter gives readings.
enum class MeterState {
    kWaiting,  // not polled yet (or its bus is not open)
    kOk,       // its last poll read at least one register
    kFailing,  // its last poll read nothing
};

/// One meter as its bus worker last saw it. Times are wall-clock milliseconds, 0 for never.
struct MeterHealth {
    size_t meter_index = 0;  // in the configuration's meters
    MeterState state = MeterState::kWaiting;
    int64_t failing_since_ms = 0;  // first failed poll of the current failure
    int64_t backoff_until_ms = 0;  // polled again no sooner (a failing meter is backed off)
    int64_t last_good_ms = 0;      // the read time of the last poll that read anything
    uint64_t polls = 0;
    uint64_t polls_failed = 0;
    std::string last_error;  // the last poll's first problem; empty after a clean poll
    TransactionCounts transactions;
    std::vector<Reading> last_values;  // the good readings of the last good poll
};

/// Whether a bus's link is open.
enum class BusState {
    kStarting,  // not opened yet
    kOpen,
    kClosed,  // closed between rounds on purpose (close_after_poll)
    kDown,    // cannot be opened, or lost: opened again with backoff
};

/// One bus as its worker last saw it.
struct BusHealth {
    BusState state = BusState::kStarting;
    std::string last_error;  // why it last failed to open or was lost; empty when never
    int64_t last_error_ms = 0;
    uint64_t reopens = 0;             // times the link was opened after the first time
    uint64_t busy_us = 0;             // time spent in transactions since the worker started
    uint64_t jobs_run = 0;            // commands' jobs run on this bus
    std::vector<MeterHealth> meters;  // in the worker's meter order
};

/// Short words for the states, as the status shows them.
const char* meter_state_name(MeterState state);
const char* bus_state_name(BusState state);

}  // namespace kaa::modbus
