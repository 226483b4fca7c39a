// ServiceNotifier speaks sd_notify itself: datagrams to $NOTIFY_SOCKET (a path or an
// abstract name), and the watchdog interval from WATCHDOG_USEC / WATCHDOG_PID.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "daemon/service_notifier.hpp"

namespace kaa {
namespace {

/// A bound AF_UNIX datagram socket standing in for systemd's notify socket.
class NotifySink {
  public:
    explicit NotifySink(const std::string& name) : name_(name) {
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::memcpy(addr.sun_path, name.data(), name.size());
        socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
        if (name[0] == '@')
            addr.sun_path[0] = '\0';
        else
            ++len;
        bound_ = ::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), len) == 0;
        timeval tv{2, 0};  // a message that never comes fails the test, not hangs it
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    ~NotifySink() {
        ::close(fd_);
        if (name_[0] == '/')
            ::unlink(name_.c_str());
    }
    bool bound() const { return bound_; }
    /// The next datagram, or "" after two seconds.
    std::string next() {
        char buf[4096];
        const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        return n < 0 ? std::string() : std::string(buf, static_cast<size_t>(n));
    }

  private:
    std::string name_;
    int fd_ = -1;
    bool bound_ = false;
};

class ServiceNotifierTest : public ::testing::Test {
  protected:
    void TearDown() override {
        ::unsetenv("NOTIFY_SOCKET");
        ::unsetenv("WATCHDOG_USEC");
        ::unsetenv("WATCHDOG_PID");
    }
};

TEST_F(ServiceNotifierTest, SendsEachMessageAsOneDatagramToAPathSocket) {
    const std::string path = (std::filesystem::temp_directory_path() /
                              ("kaa-notify-" + std::to_string(::getpid()) + ".sock"))
                                 .string();
    NotifySink sink(path);
    ASSERT_TRUE(sink.bound()) << path;
    ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
    ServiceNotifier n;
    n.ready();
    EXPECT_EQ(sink.next(), "READY=1");
    n.status("polling 3 meters");
    n.status("polling 3 meters");  // unchanged: not sent again
    n.stopping();
    EXPECT_EQ(sink.next(), "STATUS=polling 3 meters");
    EXPECT_EQ(sink.next(), "STOPPING=1");
    n.reloading();
    EXPECT_EQ(sink.next().rfind("RELOADING=1\nMONOTONIC_USEC=", 0), 0u);
}

TEST_F(ServiceNotifierTest, ReachesAnAbstractSocket) {
    const std::string name = "@kaa-notify-test-" + std::to_string(::getpid());
    NotifySink sink(name);
    ASSERT_TRUE(sink.bound());
    ::setenv("NOTIFY_SOCKET", name.c_str(), 1);
    ServiceNotifier n;
    n.watchdog();
    EXPECT_EQ(sink.next(), "WATCHDOG=1");
}

TEST_F(ServiceNotifierTest, WithoutNotifySocketNothingIsSentAndNothingFails) {
    ServiceNotifier n;
    n.ready();
    n.watchdog();
    EXPECT_FALSE(n.watchdog_interval());
}

TEST_F(ServiceNotifierTest, TheWatchdogIntervalIsHalfItsTimeoutForThisProcessOnly) {
    ::setenv("WATCHDOG_USEC", "3000000", 1);
    EXPECT_EQ(ServiceNotifier().watchdog_interval(), std::chrono::microseconds(1'500'000));
    ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
    EXPECT_EQ(ServiceNotifier().watchdog_interval(), std::chrono::microseconds(1'500'000));
    ::setenv("WATCHDOG_PID", std::to_string(::getpid() + 1).c_str(), 1);
    EXPECT_FALSE(ServiceNotifier().watchdog_interval()) << "meant for another process";
    ::unsetenv("WATCHDOG_PID");
    for (const char* bad : {"0", "", "12x", "-5"}) {
        ::setenv("WATCHDOG_USEC", bad, 1);
        EXPECT_FALSE(ServiceNotifier().watchdog_interval()) << bad;
    }
}

}  // namespace
}  // namespace kaa
