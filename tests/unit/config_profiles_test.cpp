// Meter profiles: every shipped profile loads; a meter's own keys and registers add to or
// override its profile's; bad ids, unknown and broken profiles are errors naming the file.
#include "config/profiles.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "tests/unit/config_test_helpers.hpp"

namespace kaa::config {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using namespace kaa::config::testing;  // NOLINT: test helpers
namespace fs = std::filesystem;

const std::string kShipped = KAA_SOURCE_DIR "/config/profiles";

/// A directory of profile files, removed at the end.
class ProfileDir {
  public:
    ProfileDir() {
        path_ = fs::temp_directory_path() /
                ("kaa-profiles-" + std::to_string(::getpid()) + "-" + std::to_string(next_++));
        fs::create_directories(path_);
    }
    ~ProfileDir() { fs::remove_all(path_); }
    ProfileDir(const ProfileDir&) = delete;
    ProfileDir& operator=(const ProfileDir&) = delete;
    /// Writes <id>.yaml with the given text.
    void write(const std::string& id, const std::string& text) const {
        std::ofstream(path_ / (id + ".yaml")) << text;
    }
    std::string path() const { return path_.string(); }

  private:
    static inline int next_ = 0;
    fs::path path_;
};

const std::string kTwoRegisters =
    "profile: {id: twin, maker: Acme, model: T2, kind: electricity, reads: two values}\n"
    "max_gap: 0\n"
    "max_registers: 40\n"
    "metadata_registers:\n"
    "  - {name: serial_number, address: 100, function: holding, type: uint32}\n"
    "registers:\n"
    "  - {name: voltage_v, address: 0, function: input, type: float32}\n"
    "  - {name: current_a, address: 2, function: input, type: float32}\n";

/// Loads gateway YAML as "t.yaml" with profiles from `dirs`.
LoadResult load_with(const std::string& yaml, std::vector<std::string> dirs) {
    LoadOptions options;
    options.check_files = false;
    options.profile_dirs = std::move(dirs);
    return load_gateway_config_text(yaml, "t.yaml", options);
}

TEST(ConfigProfiles, EveryShippedProfileLoadsWithoutAnError) {
    const auto all = list_profiles({kShipped});
    EXPECT_GE(all.size(), 12u);
    for (const ProfileResult& r : all) {
        EXPECT_THAT(messages(r.errors), IsEmpty());
        ASSERT_TRUE(r.profile);
        EXPECT_FALSE(r.profile->registers.empty()) << r.profile->id;
        EXPECT_FALSE(r.profile->maker.empty()) << r.profile->id;
    }
}

TEST(ConfigProfiles, TheEastronAbbAndCarloGavazziProfilesHaveFingerprints) {
    std::map<std::string, MeterProfile> by_id;
    for (ProfileResult& r : list_profiles({kShipped})) {
        if (r.profile)
            by_id.emplace(r.profile->id, std::move(*r.profile));
    }
    for (const char* id : {"eastron-sdm630", "eastron-sdm72dm-v2", "abb-b21", "abb-b23", "abb-b24",
                           "carlogavazzi-em24", "carlogavazzi-em340"}) {
        ASSERT_EQ(by_id.count(id), 1u) << id;
        EXPECT_EQ(by_id[id].fingerprint.size(), 1u) << id;
    }
    const FingerprintCheck& sdm = by_id["eastron-sdm630"].fingerprint[0];
    EXPECT_EQ(sdm.reg.address, 0xFC02);
    EXPECT_EQ(sdm.reg.function, RegisterFunction::kHolding);
    EXPECT_EQ(sdm.test, FingerprintTest::kOneOf);
    EXPECT_EQ(sdm.one_of, std::vector<nlohmann::json>{0x70});
    const FingerprintCheck& b23 = by_id["abb-b23"].fingerprint[0];
    EXPECT_EQ(b23.reg.type, ValueType::kString);
    EXPECT_EQ(b23.reg.length, 2);
    EXPECT_EQ(b23.one_of, std::vector<nlohmann::json>{"B23"});
    EXPECT_EQ(by_id["carlogavazzi-em24"].fingerprint[0].reg.function, RegisterFunction::kInput);
    EXPECT_TRUE(by_id["eastron-sdm120"].fingerprint.empty());
}

TEST(ConfigProfiles, FingerprintChecksTakeOneTestEach) {
    const std::string head =
        "profile: {id: fp, maker: Acme, model: F, kind: electricity}\n"
        "registers:\n  - {name: voltage_v, address: 0, function: input, type: float32}\n"
        "fingerprint:\n";
    ProfileDir dir;
    const auto load_fp = [&](const std::string& checks) {
        dir.write("fp", head + checks);
        return load_profile_file(dir.path() + "/fp.yaml");
    };
    ProfileResult ok = load_fp(
        "  - {address: 0x000B, function: input, type: uint16, min: 1648, max: 1653}\n"
        "  - {address: 5, function: coil, type: bool, readable: true}\n"
        "  - {address: 9, function: holding, type: int16, one_of: [-1, 0x10]}\n");
    ASSERT_THAT(messages(ok.errors), IsEmpty());
    const auto& fp = ok.profile->fingerprint;
    ASSERT_EQ(fp.size(), 3u);
    EXPECT_EQ(fp[0].test, FingerprintTest::kRange);
    EXPECT_EQ(fp[0].min, 1648);
    EXPECT_EQ(fp[0].max, 1653);
    EXPECT_EQ(fp[1].test, FingerprintTest::kReadable);
    EXPECT_EQ(fp[2].one_of, (std::vector<nlohmann::json>{-1, 16}));

    const std::string f = dir.path() + "/fp.yaml";
    EXPECT_THAT(messages(load_fp("  - {address: 1, function: holding, type: uint16}\n").errors),
                ElementsAre(f + ":5:5: fingerprint[0]: needs one test: one_of: [values], "
                                "min:/max: (a range) or readable: true"));
    EXPECT_THAT(messages(load_fp("  - {address: 1, function: holding, type: uint16, min: 1, "
                                 "readable: true}\n")
                             .errors),
                ElementsAre(f + ":5:5: fingerprint[0]: takes only one test: one_of: [values], "
                                "min:/max: (a range) or readable: true"));
    EXPECT_THAT(messages(load_fp("  - {address: 1, type: uint16, readable: true}\n").errors),
                ElementsAre(f + ":5:5: missing required key 'function' in fingerprint[0]"));
    EXPECT_THAT(
        messages(
            load_fp("  - {address: 1, function: holding, type: uint16, one_of: [x]}\n").errors),
        ElementsAre(f + ":5:59: fingerprint[0]: one_of holds 'x', not a number (type uint16)"));
    EXPECT_THAT(
        messages(load_fp("  - {address: 1, function: holding, type: string, length: 1, min: 1}\n")
                     .errors),
        ElementsAre(f + ":5:67: fingerprint[0]: min needs a numeric type, not string"));
    EXPECT_THAT(messages(load_fp("  - {address: 1, function: coil, readable: false}\n").errors),
                ElementsAre(f + ":5:44: fingerprint[0]: readable must be true (leave the check "
                                "out otherwise)"));
    EXPECT_THAT(
        messages(load_fp("  - {address: 1, function: holding, type: uint16, one_of: []}\n").errors),
        ElementsAre(f + ":5:59: fingerprint[0]: one_of must list 1 to 64 values"));
}

TEST(ConfigProfiles, AMeterGetsItsProfilesRegistersAndLimits) {
    ProfileDir dir;
    dir.write("twin", kTwoRegisters);
    const LoadResult r = load_with(
        kHead + "  - {name: m, token: t, bus: tcp1, unit: 1, profile: twin}\n", {dir.path()});
    ASSERT_THAT(messages(r.errors), IsEmpty());
    const MeterConfig& m = r.config->meters[0];
    EXPECT_EQ(m.profile, "twin");
    EXPECT_EQ(m.max_gap, 0);
    EXPECT_EQ(m.max_registers, 40);
    ASSERT_EQ(m.registers.size(), 2u);
    EXPECT_EQ(m.registers[0].name, "voltage_v");
    EXPECT_EQ(m.registers[0].type, ValueType::kFloat32);
    ASSERT_EQ(m.metadata_registers.size(), 1u);
    EXPECT_EQ(m.metadata_registers[0].address, 100);
}

TEST(ConfigProfiles, TheMetersOwnKeysAndRegistersAddToOrOverrideTheProfiles) {
    ProfileDir dir;
    dir.write("twin", kTwoRegisters);
    const LoadResult r = load_with(kHead +
                                       "  - name: m\n    token: t\n    bus: tcp1\n    unit: 1\n"
                                       "    profile: twin\n    max_gap: 4\n    registers:\n"
                                       "      - {name: current_a, address: 2, function: input, "
                                       "type: float32, scale: 0.001}\n"
                                       "      - {name: power_w, address: 12, function: input, "
                                       "type: float32}\n",
                                   {dir.path()});
    ASSERT_THAT(messages(r.errors), IsEmpty());
    const MeterConfig& m = r.config->meters[0];
    EXPECT_EQ(m.max_gap, 4);
    EXPECT_EQ(m.max_registers, 40);
    ASSERT_EQ(m.registers.size(), 3u);
    EXPECT_EQ(m.registers[1].name, "current_a");
    EXPECT_EQ(m.registers[1].scale, 0.001);
    EXPECT_EQ(m.registers[2].name, "power_w");
}

TEST(ConfigProfiles, AUsersOwnDirectoryWinsOverTheShippedOne) {
    ProfileDir mine, shipped;
    shipped.write("twin", kTwoRegisters);
    std::string one = kTwoRegisters;
    one.erase(one.find("  - {name: current_a"));
    mine.write("twin", one);
    const LoadResult r =
        load_with(kHead + "  - {name: m, token: t, bus: tcp1, unit: 1, profile: twin}\n",
                  {mine.path(), shipped.path()});
    ASSERT_THAT(messages(r.errors), IsEmpty());
    EXPECT_EQ(r.config->meters[0].registers.size(), 1u);
}

TEST(ConfigProfiles, BadIdsUnknownAndBrokenProfilesAreErrors) {
    ProfileDir dir;
    dir.write("broken",
              "profile: {id: other, maker: A, model: B, kind: electricity}\n"
              "registers:\n  - {name: v, address: 70000}\n");
    const std::string d = dir.path();
    EXPECT_THAT(
        messages(
            load_with(kHead + "  - {name: m, token: t, bus: tcp1, profile: ../x}\n", {d}).errors),
        ElementsAre("t.yaml:8:45: meter 'm': profile '../x' is not a profile id (letters a-z, "
                    "digits and '-')"));
    EXPECT_THAT(
        messages(
            load_with(kHead + "  - {name: m, token: t, bus: tcp1, profile: nope}\n", {d}).errors),
        ElementsAre("t.yaml:8:45: meter 'm': profile 'nope' is not a known profile (looked in " +
                    d + "; `kaa-gateway profiles` lists them)"));
    EXPECT_THAT(
        messages(
            load_with(kHead + "  - {name: m, token: t, bus: tcp1, profile: broken}\n", {d}).errors),
        ElementsAre(
            d + "/broken.yaml:1:15: profile: id 'other' must be the file's name without .yaml "
                "('broken')",
            d + "/broken.yaml:3:24: register 'v': address must be between 0 and 65535, got "
                "70000"));
}

TEST(ConfigProfiles, IdsAreLowerCaseLettersDigitsAndDashes) {
    EXPECT_TRUE(is_profile_id("eastron-sdm630"));
    EXPECT_FALSE(is_profile_id(""));
    EXPECT_FALSE(is_profile_id("-x"));
    EXPECT_FALSE(is_profile_id("Eastron"));
    EXPECT_FALSE(is_profile_id("a/b"));
    EXPECT_FALSE(is_profile_id(std::string(65, 'a')));
}

}  // namespace
}  // namespace kaa::config
