#pragma once
// The scan behind `kaa-gateway scan`: which units of a bus answer, and which profiles each
// may be by their fingerprints. It runs behind MeterTransport, so unit tests use a fake bus.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/profiles.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "drivers/modbus/meter_transport.hpp"

namespace kaa::modbus {

/// The unit ids `--units` names: "1-247", "1,2,5", "3" or a mix ("1-3,7"), each 1..247;
/// returned ascending, without repeats.
Result<std::vector<int>> parse_unit_list(const std::string& text);

/// Unit ids as `--units` writes them, runs joined: {1, 2, 3, 7} -> "1-3,7".
std::string format_unit_list(const std::vector<int>& units);

/// The longest the sweep over `units` unit ids can take on `bus`: every unit silent, each
/// costing the timeout, the request's time on the wire and the silence before the next.
std::chrono::milliseconds scan_estimate(const config::BusConfig& bus, size_t units);

/// The first line a scan prints: "scanning units 1-247 at 9600 baud: at most 81 s".
std::string estimate_line(const config::BusConfig& bus, const std::vector<int>& units);

/// How far a scan has come, after each unit of the sweep.
struct ScanProgress {
    size_t done = 0;   // units asked so far
    size_t total = 0;  // units to ask
    size_t found = 0;  // units that answered so far
    int unit = 0;      // the unit just asked
};

/// "scanned 10 of 247 units (last 10), 2 answered": the progress a scan prints.
std::string progress_line(const ScanProgress& progress);

/// A unit that answered the scan's read.
struct FoundUnit {
    int unit = 0;
    std::string answer;                 // "registers", or the Modbus exception named
    std::vector<std::string> profiles;  // "id (maker model)" of each fingerprint it passes
};

/// What a scan found.
struct ScanResult {
    std::vector<FoundUnit> found;
    std::vector<std::string> notes;   // things the engineer should know (a link that dropped)
    std::optional<Error> link_error;  // the link could not be opened again: the scan stopped
};

/// Asks each unit once for holding register 0 (any answer but a timeout, or a gateway's
/// exception 10/11 for a unit behind it that is silent, counts as present; an unusable reply
/// is asked again once), reopening a lost link and asking that unit again once; then reads
/// the fingerprints of `profiles` from every unit that answered. `bus` gives the pacing
/// between requests; `progress` is called after each unit of the sweep.
ScanResult scan_units(const config::BusConfig& bus, MeterTransport& transport, const Clock& clock,
                      const std::vector<int>& units,
                      const std::vector<config::MeterProfile>& profiles,
                      const std::function<void(const ScanProgress&)>& progress);

/// What `kaa-gateway scan` prints after the sweep, and its exit code: 0 when a unit
/// answered, 1 when none did, 2 when the link failed.
struct ScanOutcome {
    int exit_code = 0;
    std::string text;   // for stdout: the units found, the notes, the closing line
    std::string error;  // for stderr: why the scan stopped (exit code 2), or empty
};

/// One line per unit found ("unit 7: registers; may be eastron-sdm630 (...)"), the notes,
/// and a closing line naming the units found (or saying none answered).
ScanOutcome scan_report(const ScanResult& result, const std::vector<int>& units);

}  // namespace kaa::modbus
