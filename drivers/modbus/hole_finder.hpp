#pragma once
// Finding where a meter refuses merged reads: a read answered with exception 02 (illegal
// data address) is bisected until the places it may not span are isolated, so that the plan
// splits only there instead of reading every value on its own.

#include <functional>
#include <optional>
#include <vector>

#include "core/result.hpp"
#include "drivers/modbus/request_planner.hpp"

namespace kaa::modbus {

/// One request of a search that was answered, and its words.
struct AnsweredRead {
    PlannedRead read;
    std::vector<uint16_t> words;
};

/// A single value the meter refused even on its own, and how.
struct RefusedRead {
    PlannedRead read;
    Error error;
};

/// What a search found.
struct HoleSearch {
    std::vector<AnsweredRead> answered;  // covering every slot that could be read, in order
    std::vector<RefusedRead> refused;    // slots the meter refused alone
    std::vector<ReadCut> cuts;           // places no read may span, ascending
    std::optional<Error> stopped_by;     // a timeout, a lost link or a stop ended the search
    int requests = 0;                    // requests the search made
};

/// Reads one request on the bus (with its retries and pacing).
using ReadFunction = std::function<Result<std::vector<uint16_t>>(const PlannedRead&)>;

/// Splits `read` (answered with exception 02 as a whole) by bisection of its slots: halves
/// that are answered are kept whole; where both halves of a refused read are answered the
/// place between them is a cut; where a half had to be split itself, the two answered
/// pieces beside the middle are tried together once. The answered pieces are then the
/// fewest requests that avoid every cut found. Costs about 2k·log2(n) requests for k cuts
/// among n values, once per meter: the cuts are remembered (LearnedCuts).
HoleSearch find_holes(const PlannedRead& read, const ReadFunction& read_fn);

/// Slots `first`..`last` (inclusive) of `read` as a request of their own.
PlannedRead sub_read(const PlannedRead& read, size_t first, size_t last);

/// True when `error` is Modbus exception 02, the answer of a meter to a read of an address
/// it does not have.
bool is_illegal_address(const Error& error);

}  // namespace kaa::modbus
