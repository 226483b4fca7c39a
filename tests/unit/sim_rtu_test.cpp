// The simulator's RTU server on a socat pty pair, read by libmodbus as a real RTU client.

#include <gtest/gtest.h>
#include <modbus/modbus.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "drivers/modbus/libmodbus_transport.hpp"
#include "drivers/simulator/rtu_server.hpp"
#include "drivers/simulator/simulator.hpp"

extern char** environ;

namespace kaa::sim {
namespace {

using config::ByteOrder;
using config::RegisterFunction;
using config::ValueType;
using namespace std::chrono_literals;

config::SimRegisterConfig make_reg(RegisterFunction f, uint16_t address, ValueType type,
                                   nlohmann::json value, ByteOrder order = ByteOrder::kABCD) {
    config::SimRegisterConfig r;
    r.reg.function = f;
    r.reg.address = address;
    r.reg.type = type;
    r.reg.byte_order = order;
    r.value = std::move(value);
    return r;
}

// Two units on one line; unit 2's holes are illegal.
std::vector<config::SimUnitConfig> test_units() {
    config::SimUnitConfig u1;
    u1.unit = 1;
    u1.registers = {
        make_reg(RegisterFunction::kInput, 2, ValueType::kFloat32, 229.7, ByteOrder::kCDAB),
        make_reg(RegisterFunction::kHolding, 10, ValueType::kInt16, -1234),
        make_reg(RegisterFunction::kCoil, 5, ValueType::kBool, true),
    };
    config::SimUnitConfig u2;
    u2.unit = 2;
    u2.illegal_holes = true;
    u2.registers = {make_reg(RegisterFunction::kHolding, 0, ValueType::kUint16, 4242)};
    // Misbehaving units: 3 answers 300 ms late, 4 spoils the CRC of every 2nd reply, 5 sends noise.
    std::vector<config::SimUnitConfig> units = {u1, u2};
    for (int id : {3, 4, 5}) {
        config::SimUnitConfig u;
        u.unit = id;
        u.registers = {make_reg(RegisterFunction::kHolding, 0, ValueType::kUint16, 300 + id)};
        units.push_back(u);
    }
    units[2].faults.reply_delay = 300ms;
    units[3].faults.corrupt = config::SimCorruption::kCrc;
    units[3].faults.corrupt_every = 2;
    units[4].faults.corrupt = config::SimCorruption::kGarbage;
    return units;
}

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds deadline) {
    const auto end = std::chrono::steady_clock::now() + deadline;
    while (!condition()) {
        if (std::chrono::steady_clock::now() >= end) {
            return false;
        }
        std::this_thread::sleep_for(5ms);  // poll interval of this deadline-bounded wait
    }
    return true;
}

TEST(SimRtuTiming, SilenceIsThreeAndAHalfCharactersAtLeastTwoMs) {
    config::RtuLink link;
    link.baud = 9600;
    EXPECT_EQ(RtuServer::silence(link).count(), 3646);  // 3.5 * 10 bits / 9600
    link.parity = config::Parity::kEven;
    EXPECT_EQ(RtuServer::silence(link).count(), 4010);  // 11 bits
    link.baud = 115200;
    EXPECT_EQ(RtuServer::silence(link).count(), 2000);
}

// A socat pty pair: the simulator serves one end, libmodbus uses the other.
class SocatPair {
  public:
    SocatPair(std::string a, std::string b) : a_(std::move(a)), b_(std::move(b)) {}
    ~SocatPair() { stop(); }
    bool start() {
        const std::string arg_a = "pty,raw,echo=0,link=" + a_;
        const std::string arg_b = "pty,raw,echo=0,link=" + b_;
        std::vector<char*> argv = {const_cast<char*>("socat"), const_cast<char*>(arg_a.c_str()),
                                   const_cast<char*>(arg_b.c_str()), nullptr};
        if (posix_spawn(&pid_, "/usr/bin/socat", nullptr, nullptr, argv.data(), environ) != 0) {
            pid_ = -1;
            return false;
        }
        return wait_until(
            [&] { return std::filesystem::exists(a_) && std::filesystem::exists(b_); }, 5s);
    }
    void stop() {
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            ::waitpid(pid_, nullptr, 0);
            pid_ = -1;
        }
    }

  private:
    std::string a_;
    std::string b_;
    pid_t pid_ = -1;
};

class SimRtu : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!std::filesystem::exists("/usr/bin/socat")) {
            GTEST_SKIP() << "socat not installed";
        }
        char tmpl[] = "/tmp/kaa-sim-rtu-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        server_end_ = dir_ + "/sim";
        client_end_ = dir_ + "/gw";
        socat_ = std::make_unique<SocatPair>(server_end_, client_end_);
        ASSERT_TRUE(socat_->start());
    }
    void TearDown() override {
        sim_.reset();
        socat_.reset();
        if (!dir_.empty()) {
            std::filesystem::remove_all(dir_);
        }
    }
    config::SimConfig rtu_config() const {
        config::SimServerConfig s;
        s.name = "rtu-test";
        config::RtuLink link;
        link.device = server_end_;
        link.baud = 19200;
        link.parity = config::Parity::kEven;
        s.link = link;
        s.units = test_units();
        config::SimConfig c;
        c.servers.push_back(s);
        return c;
    }
    modbus_t* new_client() const {
        modbus_t* ctx = modbus_new_rtu(client_end_.c_str(), 19200, 'E', 8, 1);
        modbus_set_response_timeout(ctx, 0, 300'000);
        return ctx;
    }

    std::string dir_;
    std::string server_end_;
    std::string client_end_;
    std::unique_ptr<SocatPair> socat_;
    std::unique_ptr<Simulator> sim_;
};

TEST_F(SimRtu, ServesTwoUnitsOnOneLine) {
    sim_ = std::make_unique<Simulator>(rtu_config());
    const Status s = sim_->start();
    ASSERT_TRUE(s.ok()) << s.error().message;
    EXPECT_EQ(sim_->describe(0), "rtu " + server_end_ + " at 19200 8E1");
    modbus_t* ctx = new_client();
    ASSERT_EQ(modbus_connect(ctx), 0) << modbus_strerror(errno);
    modbus_set_slave(ctx, 1);
    uint16_t w[2] = {};
    ASSERT_EQ(modbus_read_input_registers(ctx, 2, 2, w), 2) << modbus_strerror(errno);
    EXPECT_EQ(modbus_get_float_cdab(w), 229.7f);
    modbus_set_slave(ctx, 2);
    ASSERT_EQ(modbus_read_registers(ctx, 0, 1, w), 1) << modbus_strerror(errno);
    EXPECT_EQ(w[0], 4242);
    EXPECT_EQ(modbus_read_registers(ctx, 0, 2, w), -1);
    EXPECT_EQ(errno, EMBXILADD);
    modbus_set_slave(ctx, 1);
    uint8_t coil = 0;
    ASSERT_EQ(modbus_read_bits(ctx, 5, 1, &coil), 1);
    EXPECT_EQ(coil, 1);
    modbus_set_slave(ctx, 7);
    EXPECT_EQ(modbus_read_registers(ctx, 0, 1, w), -1);
    EXPECT_EQ(errno, ETIMEDOUT);
    modbus_flush(ctx);
    modbus_set_slave(ctx, 1);
    EXPECT_EQ(modbus_read_registers(ctx, 10, 1, w), 1) << modbus_strerror(errno);
    EXPECT_EQ(static_cast<int16_t>(w[0]), -1234);
    modbus_close(ctx);
    modbus_free(ctx);
}

TEST_F(SimRtu, LateAndSpoiledReplies) {
    sim_ = std::make_unique<Simulator>(rtu_config());
    ASSERT_TRUE(sim_->start().ok());
    modbus_t* ctx = new_client();
    ASSERT_EQ(modbus_connect(ctx), 0) << modbus_strerror(errno);
    uint16_t w = 0;
    // Late: nothing within 100 ms; the reply comes after 300 ms.
    modbus_set_slave(ctx, 3);
    modbus_set_response_timeout(ctx, 0, 100'000);
    EXPECT_EQ(modbus_read_registers(ctx, 0, 1, &w), -1);
    EXPECT_EQ(errno, ETIMEDOUT);
    const auto readable = [&] {
        pollfd p{modbus_get_socket(ctx), POLLIN, 0};
        return ::poll(&p, 1, 0) == 1;
    };
    EXPECT_TRUE(wait_until(readable, 1s)) << "the late reply never came";
    modbus_flush(ctx);
    modbus_set_response_timeout(ctx, 1, 0);
    const auto sent = std::chrono::steady_clock::now();
    ASSERT_EQ(modbus_read_registers(ctx, 0, 1, &w), 1) << modbus_strerror(errno);
    EXPECT_EQ(w, 303);
    EXPECT_GE(std::chrono::steady_clock::now() - sent, 290ms);
    // CRC: every second reply fails the check.
    modbus_set_slave(ctx, 4);
    EXPECT_EQ(modbus_read_registers(ctx, 0, 1, &w), 1) << modbus_strerror(errno);
    EXPECT_EQ(w, 304);
    EXPECT_EQ(modbus_read_registers(ctx, 0, 1, &w), -1);
    EXPECT_EQ(errno, EMBBADCRC);
    EXPECT_EQ(modbus_read_registers(ctx, 0, 1, &w), 1) << modbus_strerror(errno);
    // Garbage: never a value.
    modbus_set_slave(ctx, 5);
    modbus_set_response_timeout(ctx, 0, 200'000);
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(modbus_read_registers(ctx, 0, 1, &w), -1);
        modbus_flush(ctx);
    }
    modbus_close(ctx);
    modbus_free(ctx);
}

// The gateway's transport must never take a late reply, left in the line's input
// queue, as the answer to the next identical request.
TEST_F(SimRtu, TransportDiscardsALateReplyBeforeTheNextRequest) {
    sim_ = std::make_unique<Simulator>(rtu_config());
    ASSERT_TRUE(sim_->start().ok());
    config::BusConfig bus;
    bus.name = "line";
    config::RtuLink link;
    link.device = client_end_;
    link.baud = 19200;
    link.parity = config::Parity::kEven;
    bus.link = link;
    bus.timeout = 100ms;
    modbus::LibmodbusTransport transport(bus);
    ASSERT_TRUE(transport.open().ok());
    const auto first = transport.read(3, RegisterFunction::kHolding, 0, 1);
    ASSERT_FALSE(first.ok());
    EXPECT_EQ(first.error().kind, ErrorKind::kTimeout);
    // A second descriptor of the same tty sees its input queue: wait for the late reply.
    const int watch = ::open(client_end_.c_str(), O_RDONLY | O_NOCTTY | O_NONBLOCK);
    ASSERT_GE(watch, 0);
    const auto queued = [&] {
        int n = 0;
        return ::ioctl(watch, FIONREAD, &n) == 0 && n > 0;
    };
    EXPECT_TRUE(wait_until(queued, 1s)) << "the late reply never came";
    ::close(watch);
    const auto second = transport.read(3, RegisterFunction::kHolding, 0, 1);
    ASSERT_FALSE(second.ok()) << "the late reply to the first request was taken as the answer";
    EXPECT_EQ(second.error().kind, ErrorKind::kTimeout);
    transport.close();
}

TEST_F(SimRtu, MissingDeviceFailsStart) {
    config::SimConfig c = rtu_config();
    std::get<config::RtuLink>(c.servers[0].link).device = dir_ + "/nothing";
    Simulator sim(c);
    const Status s = sim.start();
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().message.find("rtu-test"), std::string::npos) << s.error().message;
}

TEST_F(SimRtu, ReopensWhenTheDeviceComesBack) {
    sim_ = std::make_unique<Simulator>(rtu_config());
    ASSERT_TRUE(sim_->start().ok());
    socat_->stop();
    socat_ = std::make_unique<SocatPair>(server_end_, client_end_);
    ASSERT_TRUE(socat_->start());
    const bool answered = wait_until(
        [&] {
            modbus_t* ctx = new_client();
            bool ok = false;
            if (modbus_connect(ctx) == 0) {
                modbus_set_slave(ctx, 2);
                uint16_t v = 0;
                ok = modbus_read_registers(ctx, 0, 1, &v) == 1 && v == 4242;
                modbus_close(ctx);
            }
            modbus_free(ctx);
            return ok;
        },
        5s);
    EXPECT_TRUE(answered);
}

}  // namespace
}  // namespace kaa::sim
