// Fuzz target: the gateway configuration loader on arbitrary YAML text. The loader must
// never crash nor throw; it gives a configuration or errors, never both and never neither;
// every message is bounded; a configuration survives the JSON round trip that carries it
// out of the isolated loader's child (config_json.hpp) unchanged; a meter's metadata can be
// written as JSON text (the uplink publishes it).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "config/config_json.hpp"
#include "config/config_loader.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

/// The longest message a loader may give: Diagnostics' bound, an escape and the length note.
constexpr size_t kMaxMessage = 1100;

/// Stops the run with a reason when an invariant does not hold.
void check(bool ok, const char* what) {
    kaa::fuzz::check(ok, "fuzz_config", what);
}

/// Checks what every load must be, whatever the text.
void check_result(const kaa::config::LoadResult& result) {
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
}

/// Checks that the result, its configuration included, comes back from JSON unchanged.
void check_round_trip(const kaa::config::LoadResult& result) {
    const nlohmann::json doc = kaa::config::to_json(result);
    const auto back = kaa::config::load_result_from_json(doc);
    check(back.has_value(), "to_json(LoadResult) does not read back");
    check(back->config.has_value() == result.config.has_value(),
          "the configuration lost in the JSON round trip");
    check(kaa::config::to_json(*back) == doc, "the LoadResult changed in the JSON round trip");
}

}  // namespace

/// libFuzzer's entry point: one input is the whole text of a configuration file.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    kaa::config::LoadOptions options;
    options.check_files = false;  // the text alone: no file system, the same verdict every run
    const kaa::config::LoadResult result =
        kaa::config::load_gateway_config_text(text, "fuzz.yaml", options);
    check_result(result);
    check_round_trip(result);
    if (result.config) {
        // What the uplink publishes of a meter's static metadata must be JSON text.
        for (const auto& meter : result.config->meters)
            (void)meter.metadata.dump();
    }
    return 0;
}
