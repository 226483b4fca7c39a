// The files a configuration names: missing, unreadable, not PEM, or readable by everyone,
// each said with the file:line:column of its key, at start-up and by --check.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "tests/unit/config_test_helpers.hpp"

namespace kaa::config {
namespace {

using kaa::config::testing::kaa_with;
using kaa::config::testing::messages;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

/// A temporary directory with files written into it.
class FileChecksTest : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/kaa-files-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::string write(const std::string& name, const std::string& text, mode_t mode = 0600) {
        const std::string path = dir_ + "/" + name;
        std::ofstream(path) << text;
        ::chmod(path.c_str(), mode);
        return path;
    }
    /// Errors and warnings of a kaa section with `tls_or_auth` on line 4, files checked.
    LoadResult run(const std::string& tls_or_auth, bool missing_is_error = true) {
        LoadOptions options;
        options.missing_files_are_errors = missing_is_error;
        return load_gateway_config_text(kaa_with(tls_or_auth + "meters: []\n"), "t.yaml", options);
    }
    std::string dir_;
};

constexpr const char* kPem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

TEST_F(FileChecksTest, AGoodCaFilePasses) {
    const auto ca = write("ca.pem", kPem, 0644);
    EXPECT_THAT(messages(run("  tls: {ca_file: " + ca + "}\n").errors), IsEmpty());
}

TEST_F(FileChecksTest, AMissingCaFileIsAnErrorToRunAndAWarningToCheck) {
    const std::string ca = dir_ + "/none.pem";
    EXPECT_THAT(messages(run("  tls: {ca_file: " + ca + "}\n").errors),
                ElementsAre("t.yaml:4:18: kaa.tls: ca_file '" + ca + "' does not exist"));
    const LoadResult check = run("  tls: {ca_file: " + ca + "}\n", false);
    EXPECT_THAT(messages(check.errors), IsEmpty());
    EXPECT_THAT(messages(check.warnings),
                Contains("t.yaml:4:18: kaa.tls: ca_file '" + ca +
                         "' does not exist; the daemon will not start until it does"));
}

TEST_F(FileChecksTest, ACaFileThatIsNotPemIsAnErrorEvenToCheck) {
    const auto ca = write("ca.der", std::string("\x30\x82\x01\x0a garbage"), 0644);
    EXPECT_THAT(messages(run("  tls: {ca_file: " + ca + "}\n", false).errors),
                ElementsAre("t.yaml:4:18: kaa.tls: ca_file '" + ca +
                            "' is not a PEM file (no '-----BEGIN' line in its first 64 KiB)"));
}

TEST_F(FileChecksTest, ADirectoryIsNotACaFile) {
    EXPECT_THAT(messages(run("  tls: {ca_file: " + dir_ + "}\n").errors),
                ElementsAre("t.yaml:4:18: kaa.tls: ca_file '" + dir_ + "' is not a regular file"));
}

TEST_F(FileChecksTest, AnUnreadableFileIsAnError) {
    const auto pw = write("pw", "secret\n", 0000);
    ::chmod(dir_.c_str(), 0755);
    const auto expect_unreadable = [&] {
        const auto errs =
            messages(run("  auth: {username: u, password_file: " + pw + "}\n", false).errors);
        return errs.size() == 1 && errs[0].rfind("t.yaml:4:38: kaa.auth: password_file '" + pw +
                                                     "' cannot be read by this user (uid ",
                                                 0) == 0;
    };
    if (::geteuid() != 0) {
        EXPECT_TRUE(expect_unreadable());
        return;
    }
    // Root reads every file: the check runs in a child that became `nobody`.
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        if (::setgid(65534) != 0 || ::setuid(65534) != 0)
            ::_exit(2);
        ::_exit(expect_unreadable() ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "1: other errors than 'cannot be read'; 2: no setuid";
}

TEST_F(FileChecksTest, AClientKeyReadableByEveryoneIsAWarning) {
    const auto ca = write("ca.pem", kPem, 0644);
    const auto crt = write("c.crt", kPem, 0644);
    const auto key = write("c.key", "-----BEGIN PRIVATE KEY-----\nx\n", 0644);
    const LoadResult r =
        run("  tls: {ca_file: " + ca + ", cert_file: " + crt + ", key_file: " + key + "}\n");
    EXPECT_THAT(messages(r.errors), IsEmpty());
    EXPECT_THAT(messages(r.warnings),
                Contains(::testing::HasSubstr("kaa.tls: key_file '" + key +
                                              "' is readable by every user")));
}

TEST_F(FileChecksTest, AKeyThatIsNotPemIsAnError) {
    const auto ca = write("ca.pem", kPem, 0644);
    const auto crt = write("c.crt", kPem, 0644);
    const auto key = write("c.key", "not a key", 0600);
    EXPECT_THAT(
        messages(
            run("  tls: {ca_file: " + ca + ", cert_file: " + crt + ", key_file: " + key + "}\n")
                .errors),
        Contains(::testing::HasSubstr("kaa.tls: key_file '" + key + "' is not a PEM file")));
}

}  // namespace
}  // namespace kaa::config
