// MosquittoClient without a usable broker: it never aborts, names the file it cannot read,
// never logs in without the password, and stops at once, releasing libmosquitto's handle
// (the sanitizer build's leak check runs these too).
#include <gtest/gtest.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>

#include "daemon/kaa/mosquitto_client.hpp"
#include "tests/fakes/fake_clock.hpp"
#include "tests/fakes/log_capture.hpp"

namespace kaa::uplink {
namespace {

using std::chrono::milliseconds;

/// Counts what the client reports.
class CountingListener final : public MqttListener {
  public:
    void on_connected() override { ++connected; }
    void on_disconnected(const std::string&) override { ++disconnected; }
    void on_message(const std::string&, std::string_view) override {}
    void on_published(int) override {}
    std::atomic<int> connected{0};
    std::atomic<int> disconnected{0};
};

/// A loopback socket that listens but never accepts: connections wait in its backlog.
class Listener {
  public:
    Listener() {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
        socklen_t len = sizeof(addr);
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
    }
    ~Listener() { ::close(fd_); }
    void listen() { EXPECT_EQ(::listen(fd_, 4), 0); }
    /// True when a client connected (and it is taken off the backlog).
    bool was_connected() {
        const int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0)
            return false;
        ::close(c);
        return true;
    }
    int port() const { return port_; }

  private:
    int fd_ = -1;
    int port_ = 0;
};

class MosquittoClientTest : public ::testing::Test {
  protected:
    MosquittoOptions options(int port) {
        MosquittoOptions o;
        o.host = "127.0.0.1";
        o.port = port;
        o.client_id = "unit-test";
        o.min_delay = milliseconds(10);
        o.max_delay = milliseconds(20);
        return o;
    }
    /// Runs the client through `span` of simulated time (its first wait before a retry
    /// at least), then stops it.
    void run_for(MosquittoOptions o, milliseconds span = milliseconds(1)) {
        clock.set_horizon(clock.now() + span);
        MosquittoClient client(std::move(o), clock);
        ASSERT_TRUE(client.start(&listener).ok());
        ASSERT_TRUE(clock.wait_parked(std::chrono::seconds(10)));
        client.stop();
    }

    fakes::LogCapture log;
    fakes::FakeClock clock;
    CountingListener listener;
};

TEST_F(MosquittoClientTest, ABrokerNeverReachedIsRetriedAndTheClientStopsAtOnce) {
    Listener closed;  // bound, not listening: connections are refused
    run_for(options(closed.port()));
    EXPECT_EQ(log.count("cannot connect to 127.0.0.1:" + std::to_string(closed.port()) +
                        ": Connection refused"),
              1u)
        << log.text();
    EXPECT_EQ(listener.connected, 0);
    EXPECT_EQ(listener.disconnected, 0);
}

TEST_F(MosquittoClientTest, AnUnreadableCaFileIsNamedAndRetriedNeverFatal) {
    Listener broker;
    broker.listen();
    MosquittoOptions o = options(broker.port());
    o.tls = true;
    o.ca_file = "/nonexistent/kaa-unit/ca.pem";
    run_for(o, milliseconds(200));  // about ten attempts, each on a re-initialised handle
    EXPECT_EQ(log.count("cannot read kaa.tls.ca_file '/nonexistent/kaa-unit/ca.pem': No such "
                        "file or directory (fix the path, or let the service user read the "
                        "file); not connecting until it is fixed"),
              1u)
        << log.text();
    EXPECT_GE(clock.waits(), 5u) << "it kept retrying";
    EXPECT_FALSE(broker.was_connected()) << "no connection without the CA";
}

TEST_F(MosquittoClientTest, AnUnreadablePasswordFileIsNamedAndNoEmptyPasswordIsTried) {
    Listener broker;
    broker.listen();
    MosquittoOptions o = options(broker.port());
    o.username = "gw";
    o.password_file = "/nonexistent/kaa-unit/password";
    run_for(o, milliseconds(200));
    EXPECT_EQ(log.count("cannot read kaa.auth.password_file '/nonexistent/kaa-unit/password': "
                        "No such file or directory; not connecting until it is fixed"),
              1u)
        << log.text();
    EXPECT_FALSE(broker.was_connected()) << "never a login with an empty password";
}

TEST_F(MosquittoClientTest, AClientNeverStartedOrStoppedTwiceIsFine) {
    { MosquittoClient never(options(1), clock); }
    Listener closed;
    clock.set_horizon(clock.now() + milliseconds(1));
    MosquittoClient client(options(closed.port()), clock);
    ASSERT_TRUE(client.start(&listener).ok());
    ASSERT_TRUE(clock.wait_parked(std::chrono::seconds(10)));
    client.stop();
    client.stop();
}

}  // namespace
}  // namespace kaa::uplink
