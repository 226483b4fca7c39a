// kaa.auth.password_file read at connect time: the first line, or an error naming the file
// and the reason, never an empty password and never the password in a message.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "daemon/kaa/password_file.hpp"

namespace kaa::uplink {
namespace {

/// A directory of its own for each test, removed afterwards.
class PasswordFileTest : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/kaa-password-test-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override {
        std::remove(path().c_str());
        ::rmdir(path().c_str());
        ::rmdir(dir_.c_str());
    }
    std::string path() const { return dir_ + "/password"; }
    void write(const std::string& text) { std::ofstream(path(), std::ios::binary) << text; }

    std::string dir_;
};

TEST_F(PasswordFileTest, TheFirstLineWithoutItsLineEndingIsThePassword) {
    write("s3cret\r\nsecond line\n");
    auto got = read_password_file(path());
    ASSERT_TRUE(got.ok()) << got.error().message;
    EXPECT_EQ(got.value(), "s3cret");
    write("no newline at all");
    EXPECT_EQ(read_password_file(path()).value(), "no newline at all");
}

TEST_F(PasswordFileTest, AMissingFileIsNamedWithTheReason) {
    auto got = read_password_file(path());
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.error().message,
              "cannot read kaa.auth.password_file '" + path() + "': No such file or directory");
}

TEST_F(PasswordFileTest, AFileThatCannotBeReadIsAnErrorNotAnEmptyPassword) {
    ASSERT_EQ(::mkdir(path().c_str(), 0700), 0);  // opens, but reading fails (even as root)
    auto got = read_password_file(path());
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.error().message,
              "cannot read kaa.auth.password_file '" + path() + "': Is a directory");
}

TEST_F(PasswordFileTest, AnEmptyFirstLineIsAnErrorThatDoesNotEchoTheFile) {
    for (const std::string text : {"", "\n", "\r\n", "\nsecond-line-secret\n"}) {
        write(text);
        auto got = read_password_file(path());
        ASSERT_FALSE(got.ok()) << text;
        EXPECT_EQ(got.error().message, "cannot read kaa.auth.password_file '" + path() +
                                           "': its first line is empty (no password)");
    }
}

}  // namespace
}  // namespace kaa::uplink
