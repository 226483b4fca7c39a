#pragma once
// Meter profiles: what every meter of one model has (its registers, metadata registers,
// byte orders, scaling, read-size limits and hole rules), in YAML files named after the
// profile's id. A meter that says `profile: eastron-sdm630` gets all of it; its own keys and
// registers add to or override the profile's by name. Shipped profiles are installed in
// /usr/share/kaa-gateway/profiles/; a user's own in /etc/kaa-gateway/profiles/ win.

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "config/config_error.hpp"

namespace kaa::config {

/// What one fingerprint check asks of the value it reads.
enum class FingerprintTest {
    kOneOf,     // the value is one of a list (numbers, or strings for type string)
    kRange,     // the value lies within min..max (either bound may be left open)
    kReadable,  // the meter merely answers the read (where other models refuse it)
};

/// One check of a profile's fingerprint: a register (or bit) read on its own, never merged
/// with another read, and what the meter's answer must be for the check to hold.
struct FingerprintCheck {
    RegisterConfig reg;  // address, function, type, byte_order, length (no name)
    FingerprintTest test = FingerprintTest::kReadable;
    std::vector<nlohmann::json> one_of;  // kOneOf: numbers, or strings for type string
    std::optional<double> min;           // kRange
    std::optional<double> max;           // kRange
};

/// One meter model's profile, as read from its file.
struct MeterProfile {
    std::string id;
    std::string maker;
    std::string model;
    std::string kind;   // electricity, heat, water, gas
    std::string reads;  // what it reads, in words
    std::string path;   // the file it came from
    std::optional<int> max_gap;
    std::optional<int> max_registers;
    std::vector<RegisterConfig> metadata_registers;
    std::vector<RegisterConfig> registers;
    /// How `kaa-gateway scan` recognises the model: every check must hold (empty: never).
    std::vector<FingerprintCheck> fingerprint;
};

/// A profile file read: the profile, or the errors that made it unusable (file:line:col).
struct ProfileResult {
    std::optional<MeterProfile> profile;
    std::vector<ConfigError> errors;
};

/// Where profiles are looked for, first match wins: the user's own directory, then the
/// shipped one; KAA_PROFILE_DIRS (directories separated by ':') comes before both.
std::vector<std::string> default_profile_dirs();

/// True for a well-formed profile id: 1 to 64 of [a-z0-9-], starting with a letter or digit
/// (so that an id can never name a file outside the profile directories).
bool is_profile_id(const std::string& id);

/// The file of profile `id` in the first directory that has it, or nullopt.
std::optional<std::string> find_profile(const std::string& id,
                                        const std::vector<std::string>& dirs);

/// Reads and checks one profile file; its id must match the file's name.
ProfileResult load_profile_file(const std::string& path);

/// Every profile in `dirs` (an id found in an earlier directory hides later ones), by id.
std::vector<ProfileResult> list_profiles(const std::vector<std::string>& dirs);

/// What `kaa-gateway profiles` prints: a line per profile (id, maker, model, what it
/// reads), then the errors of the files that could not be used.
std::string profiles_table(const std::vector<ProfileResult>& profiles);

}  // namespace kaa::config
