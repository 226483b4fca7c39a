// Fuzz target: the simulator configuration loader on arbitrary YAML text. The loader must
// never crash nor throw; it gives a configuration or errors, never both and never neither,
// and every message is bounded. A configuration it accepts is then served: each unit's
// register bank is built and every register read, now and after long simulated times.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "config/sim_config_loader.hpp"
#include "drivers/simulator/register_bank.hpp"
#include "tests/fakes/fake_clock.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

/// The longest message a loader may give: Diagnostics' bound, an escape and the length note.
constexpr size_t kMaxMessage = 1100;

/// Stops the run with a reason when an invariant does not hold.
void check(bool ok, const char* what) {
    kaa::fuzz::check(ok, "fuzz_sim_config", what);
}

/// Builds every unit's bank as the simulator does and reads each register at a few times.
void serve(const kaa::config::SimConfig& config) {
    using std::chrono::hours;
    using std::chrono::milliseconds;
    for (const auto& server : config.servers) {
        for (const auto& unit : server.units) {
            kaa::fakes::FakeClock clock;
            kaa::sim::RegisterBank bank(unit, clock);
            for (const auto step : {milliseconds(0), milliseconds(1500), milliseconds(hours(24)),
                                    milliseconds(hours(24 * 365 * 30))}) {
                clock.advance(step);
                for (const auto& reg : unit.registers) {
                    const int count = kaa::config::register_count(reg.reg.type, reg.reg.length);
                    const auto words =
                        bank.read(reg.reg.function, reg.reg.address, static_cast<uint16_t>(count));
                    check(words.size() == static_cast<size_t>(count), "a read of the wrong size");
                }
            }
        }
    }
}

}  // namespace

/// libFuzzer's entry point: one input is the whole text of a simulator configuration file.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    const kaa::config::LoadSimResult result = kaa::config::load_sim_config_text(text, "sim.yaml");
    check(result.config.has_value() == result.errors.empty(),
          "a configuration and errors together, or neither");
    for (const auto* list : {&result.errors, &result.warnings}) {
        for (const auto& e : *list) {
            check(!e.message.empty() && e.message.size() <= kMaxMessage,
                  "an empty or unbounded message");
            check(e.message.find('\n') == std::string::npos, "a message of several lines");
            // The loader's boundary turns an exception into this error, at line 0.
            check(e.where.line != 0 ||
                      !e.message.starts_with("internal error while reading the configuration"),
                  "an exception reached the loader's boundary");
        }
    }
    if (result.config)
        serve(*result.config);
    return 0;
}
