// Bus time estimates against hand-computed RTU frame times.
#include <gtest/gtest.h>

#include "drivers/modbus/bus_budget.hpp"

namespace kaa::modbus {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

config::GatewayConfig one_meter(int registers, milliseconds interval, int baud) {
    config::GatewayConfig c;
    config::BusConfig bus;
    bus.name = "rs485-1";
    bus.link = config::RtuLink{"/dev/ttyUSB0", baud, config::Parity::kNone, 8, 1};
    bus.inter_request_delay = milliseconds(20);
    bus.timeout = milliseconds(500);
    bus.retries = 1;
    c.buses.push_back(bus);
    config::MeterConfig m;
    m.name = "m1";
    m.bus = "rs485-1";
    m.poll_interval = interval;
    for (int i = 0; i < registers; ++i) {
        config::RegisterConfig r;
        // Appended, not `"r" + std::to_string(i)`: g++ 12 at -O3 inlines that operator+ and
        // raises a false -Wrestrict inside libstdc++ (GCC bug 105329), which fails a Release
        // build with -DKAA_WERROR=ON.
        r.name = "r";
        r.name += std::to_string(i);
        r.address = static_cast<uint16_t>(i);
        m.registers.push_back(r);
    }
    c.meters.push_back(m);
    return c;
}

TEST(BusBudgetTest, OneReadAt9600BaudCostsItsFramesPlusTheGap) {
    auto c = one_meter(10, milliseconds(1000), 9600);
    auto b = estimate_bus_budget(c, c.buses[0]);
    ASSERT_EQ(b.meters.size(), 1u);
    EXPECT_EQ(b.meters[0].requests, 1u);
    // 10 bits per character at 9600 baud = 1041 us; request 8 + reply 5 + 20 = 33 chars.
    EXPECT_EQ(b.meters[0].per_poll, milliseconds(20) + microseconds(1041) * 33);
    EXPECT_NEAR(b.utilisation, (20000 + 1041 * 33) / 1e6, 1e-9);
    EXPECT_EQ(b.dead_meter, (milliseconds(20) + milliseconds(500)) * 2);
}

TEST(BusBudgetTest, APlanThatCannotFitShowsAboveOne) {
    // 250 registers in two full reads every 100 ms at 1200 baud.
    auto c = one_meter(250, milliseconds(100), 1200);
    auto b = estimate_bus_budget(c, c.buses[0]);
    EXPECT_EQ(b.meters[0].requests, 2u);
    EXPECT_GT(b.utilisation, 1.0);
}

TEST(BusBudgetTest, TcpCountsOnlyTheConfiguredDelay) {
    auto c = one_meter(10, milliseconds(1000), 9600);
    c.buses[0].link = config::TcpLink{"127.0.0.1", 502};
    c.buses[0].inter_request_delay = milliseconds(0);
    auto b = estimate_bus_budget(c, c.buses[0]);
    EXPECT_FALSE(b.serial);
    EXPECT_EQ(b.meters[0].per_poll, microseconds(0));
}

}  // namespace
}  // namespace kaa::modbus
