// Tests of the default MQTT client id (from a machine id file) and the timestamp formats' names.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "config/machine_id.hpp"
#include "config/timestamp_format.hpp"

namespace kaa::config {
namespace {

/// A machine id file with the given content in a temporary place, removed afterwards.
class MachineIdFile {
  public:
    explicit MachineIdFile(const std::string& content) {
        char name[] = "/tmp/kaa-machine-id-XXXXXX";
        const int fd = mkstemp(name);
        ::close(fd);
        path_ = name;
        std::ofstream(path_) << content;
    }
    ~MachineIdFile() { std::remove(path_.c_str()); }
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

std::string hostname_id() {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    return std::string("kaa-gw-") + host;
}

TEST(DefaultClientId, TakesTheFirstTwelveHexDigitsOfTheMachineId) {
    MachineIdFile f("3f9a1c0e5b7d4e2f8a6b9c0d1e2f3a4b\n");
    EXPECT_EQ(default_client_id(f.path()), "kaa-gw-3f9a1c0e5b7d");
}

TEST(DefaultClientId, TwoMachinesWithOneHostnameGetTwoIds) {
    MachineIdFile a("0123456789abcdef0123456789abcdef\n");
    MachineIdFile b("fedcba9876543210fedcba9876543210\n");
    EXPECT_NE(default_client_id(a.path()), default_client_id(b.path()));
}

TEST(DefaultClientId, UppercaseDigitsAreWrittenLowercase) {
    MachineIdFile f("3F9A1C0E5B7D4E2F8A6B9C0D1E2F3A4B");
    EXPECT_EQ(default_client_id(f.path()), "kaa-gw-3f9a1c0e5b7d");
}

TEST(DefaultClientId, FallsBackToTheHostnameWithoutAUsableMachineId) {
    EXPECT_EQ(default_client_id("/nonexistent/machine-id"), hostname_id());
    MachineIdFile empty("");
    EXPECT_EQ(default_client_id(empty.path()), hostname_id());
    MachineIdFile short_id("3f9a1c\n");
    EXPECT_EQ(default_client_id(short_id.path()), hostname_id());
    MachineIdFile not_hex("zz9a1c0e5b7d4e2f8a6b9c0d1e2f3a4b\n");
    EXPECT_EQ(default_client_id(not_hex.path()), hostname_id());
    MachineIdFile zeros("00000000000000000000000000000000\n");
    EXPECT_EQ(default_client_id(zeros.path()), hostname_id());
}

TEST(TimestampFormatNames, EveryFormatHasAConfigWordAndAnEptsName) {
    for (auto f : {TimestampFormat::kMillis, TimestampFormat::kSeconds, TimestampFormat::kIso8601})
        EXPECT_EQ(parse_timestamp_format(to_string(f)), f);
    EXPECT_FALSE(parse_timestamp_format("ISO8601"));
    EXPECT_FALSE(parse_timestamp_format(""));
    EXPECT_STREQ(epts_format_name(TimestampFormat::kMillis), "millis-unix-epoch");
    EXPECT_STREQ(epts_format_name(TimestampFormat::kSeconds), "seconds-unix-epoch");
    EXPECT_STREQ(epts_format_name(TimestampFormat::kIso8601), "iso8601");
}

}  // namespace
}  // namespace kaa::config
