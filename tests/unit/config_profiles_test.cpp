// Meter profiles: every shipped profile loads; a meter's own keys and registers add to or
// override its profile's; bad ids, unknown and broken profiles are errors naming the file.
#include "config/profiles.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

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
