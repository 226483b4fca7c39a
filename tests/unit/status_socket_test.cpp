// The status socket: a client reads the whole last document; a stale socket is replaced, a
// live one or another file is refused; a client that is gone or slow never stops the server.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "daemon/status/status_socket.hpp"

namespace kaa::status {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

class StatusSocketTest : public ::testing::Test {
  protected:
    void SetUp() override {
        char dir_template[] = "/tmp/kaa-status-XXXXXX";
        ASSERT_NE(mkdtemp(dir_template), nullptr);
        dir = dir_template;
        path = dir + "/status.sock";
    }
    void TearDown() override {
        unlink(path.c_str());
        rmdir(dir.c_str());
    }
    std::string dir;
    std::string path;
};

TEST_F(StatusSocketTest, AClientGetsTheLastPublishedDocumentWhole) {
    auto server = StatusServer::start(path);
    ASSERT_TRUE(server) << server.error().message;
    struct stat st {};
    ASSERT_EQ(stat(path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0660u);

    auto first = read_status(path, 2s);
    ASSERT_TRUE(first) << first.error().message;
    EXPECT_EQ(first.value(), "{}\n");  // before the first document

    const std::string big(3 * 1024 * 1024, 'x');  // more than one socket buffer
    server.value()->publish(big);
    auto second = read_status(path, 2s);
    ASSERT_TRUE(second) << second.error().message;
    EXPECT_EQ(second.value(), big);
    EXPECT_EQ(server.value()->served(), 2u);
}

TEST_F(StatusSocketTest, TheSocketIsRemovedWhenTheServerStops) {
    {
        auto server = StatusServer::start(path);
        ASSERT_TRUE(server);
    }
    EXPECT_NE(access(path.c_str(), F_OK), 0);
    auto r = read_status(path, 1s);
    ASSERT_FALSE(r);
    EXPECT_THAT(r.error().message, HasSubstr("is kaa-gatewayd running?"));
}

TEST_F(StatusSocketTest, AStaleSocketIsReplacedAndALiveOneRefused) {
    // A socket file nobody listens on, as a crashed daemon leaves it.
    const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    close(fd);
    auto server = StatusServer::start(path);
    ASSERT_TRUE(server) << server.error().message;

    auto second = StatusServer::start(path);
    ASSERT_FALSE(second);
    EXPECT_THAT(second.error().message, HasSubstr("served by another process"));
    EXPECT_TRUE(read_status(path, 1s));  // the first one still serves
}

TEST_F(StatusSocketTest, AnotherKindOfFileIsNeverRemoved) {
    std::ofstream(path) << "keep me";
    auto server = StatusServer::start(path);
    ASSERT_FALSE(server);
    EXPECT_THAT(server.error().message, HasSubstr("is not a socket"));
    std::ifstream in(path);
    std::string text;
    std::getline(in, text);
    EXPECT_EQ(text, "keep me");
}

TEST_F(StatusSocketTest, AClientThatLeavesAtOnceDoesNotStopTheServer) {
    auto server = StatusServer::start(path);
    ASSERT_TRUE(server);
    server.value()->publish(std::string(4 * 1024 * 1024, 'y'));
    for (int i = 0; i < 3; ++i) {
        const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
        ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
        close(fd);  // reads nothing
    }
    auto r = read_status(path, 5s);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r.value().size(), 4u * 1024 * 1024);
}

TEST_F(StatusSocketTest, APathTooLongIsAnError) {
    const std::string long_path = "/" + std::string(200, 'a');
    EXPECT_FALSE(StatusServer::start(long_path));
    EXPECT_FALSE(read_status(long_path, 1s));
}

}  // namespace
}  // namespace kaa::status
