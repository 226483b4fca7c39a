// libmicrohttpd is loaded when the status page starts, not linked: a missing library is an
// error that says what to install, and the real one resolves every entry point.
#include <gtest/gtest.h>

#include "daemon/status/http/mhd_library.hpp"

namespace kaa::status {
namespace {

TEST(MhdLibrary, AMissingLibraryNamesThePackageToInstall) {
    const auto lib = MhdLibrary::load("libmicrohttpd-not-here.so.12");
    ASSERT_FALSE(lib);
    EXPECT_NE(lib.error().message.find("status.http needs libmicrohttpd"), std::string::npos)
        << lib.error().message;
    EXPECT_NE(lib.error().message.find("install the Debian package libmicrohttpd12"),
              std::string::npos)
        << lib.error().message;
}

TEST(MhdLibrary, ALibraryWithoutItsFunctionsIsRefused) {
    const auto lib = MhdLibrary::load("libm.so.6");
    ASSERT_FALSE(lib);
    EXPECT_EQ(lib.error().message,
              "status.http: libm.so.6 has no MHD_start_daemon: not the libmicrohttpd this "
              "gateway was built for");
}

TEST(MhdLibrary, TheInstalledLibraryResolvesEveryEntryPoint) {
    const auto lib = MhdLibrary::get();
    ASSERT_TRUE(lib) << lib.error().message;
    EXPECT_NE(lib.value()->start_daemon, nullptr);
    EXPECT_NE(lib.value()->destroy_response, nullptr);
    EXPECT_EQ(MhdLibrary::get().value(), lib.value()) << "loaded once";
}

}  // namespace
}  // namespace kaa::status
