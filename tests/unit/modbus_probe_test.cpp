// The probe of `kaa-gateway read`: every decoding side by side, errors named with an exit
// code, and a profile's registers read once as name = value.
#include "drivers/modbus/probe.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "drivers/modbus/probe_report.hpp"

namespace kaa::modbus {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

/// A transport that answers reads from a table of registers, or with one error.
class TableTransport final : public MeterTransport {
  public:
    Status open() override {
        opened = true;
        return {};
    }
    void close() override { opened = false; }
    bool is_open() const override { return opened; }
    Result<std::vector<uint16_t>> read(int, config::RegisterFunction, uint16_t address,
                                       uint16_t count) override {
        if (error && address >= error_from)
            return *error;
        std::vector<uint16_t> out;
        for (uint16_t i = 0; i < count; ++i)
            out.push_back(words.count(address + i) ? words.at(address + i) : 0);
        return out;
    }
    std::string describe() const override { return "tcp 127.0.0.1:5020"; }

    std::map<int, uint16_t> words;
    std::optional<Error> error;
    uint16_t error_from = 0;
    bool opened = false;
};

TEST(ModbusProbe, ShowsEveryTypeInEveryByteOrder) {
    // 229.7 as float32 ABCD is 0x4365 0xB333.
    const std::string text = describe_registers(100, {0x4365, 0xB333, 0x0000, 0x0001});
    EXPECT_THAT(text, HasSubstr("    100  0x4365   17253   17253\n"));
    EXPECT_THAT(text, HasSubstr("    101  0xB333   45875  -19661\n"));
    EXPECT_THAT(text, HasSubstr("    100  ABCD   1130738483   1130738483  229.7\n"));
    EXPECT_THAT(text, HasSubstr("    102  ABCD            1            1  1e-45"));
    EXPECT_THAT(text, HasSubstr("    102  CDAB        65536        65536"));
    EXPECT_THAT(text, HasSubstr("    100  ABCD   4856484804813651969   4856484804813651969"));
    EXPECT_THAT(text, HasSubstr("as a string (2 characters per register, high byte first): "
                                "\"Ce\\xb33\\x00\\x00\\x00\\x01\""));
}

TEST(ModbusProbe, FewerThanTwoRegistersShowNoWideValues) {
    const std::string text = describe_registers(0, {7});
    EXPECT_THAT(text, Not(HasSubstr("32-bit")));
    EXPECT_THAT(text, Not(HasSubstr("64-bit")));
}

TEST(ModbusProbe, AReadIsDescribedAndAnExceptionNamedWithExitCodeOne) {
    TableTransport t;
    t.words = {{0, 0x4365}, {1, 0xB333}};
    ProbeRequest request;
    request.address = 0;
    request.count = 2;
    ProbeOutcome ok = probe_read(t, request);
    EXPECT_EQ(ok.exit_code, 0);
    EXPECT_THAT(ok.text, HasSubstr("tcp 127.0.0.1:5020 unit 1: holding 0..1 (2 registers)\n"));
    EXPECT_THAT(ok.text, HasSubstr("229.7"));
    EXPECT_FALSE(t.opened);  // closed again

    t.error =
        make_error(ErrorKind::kModbusException, "Modbus exception 2 (illegal data address)", 2);
    ProbeOutcome bad = probe_read(t, request);
    EXPECT_EQ(bad.exit_code, 1);
    EXPECT_THAT(bad.text, HasSubstr("Modbus exception 2 (illegal data address)"));
    t.error = make_error(ErrorKind::kIo, "tcp 127.0.0.1:5020 failed: Connection refused");
    EXPECT_EQ(probe_read(t, request).exit_code, 2);
}

TEST(ModbusProbe, BitsAreListedOnePerLine) {
    EXPECT_EQ(describe_bits(10, {1, 0}), "address  value\n     10  1\n     11  0\n");
}

TEST(ModbusProbe, AProfileIsReadOnceAsNameEqualsValue) {
    TableTransport t;
    t.words = {{0, 0x4365}, {1, 0xB333}, {6, 1234}};
    config::MeterProfile p;
    p.id = "twin";
    p.maker = "Acme";
    p.model = "T2";
    config::RegisterConfig volts;
    volts.name = "voltage_v";
    volts.function = config::RegisterFunction::kInput;
    volts.type = config::ValueType::kFloat32;
    config::RegisterConfig energy;
    energy.name = "energy_import_kwh";
    energy.address = 6;
    energy.scale = 0.1;
    config::RegisterConfig far;
    far.name = "current_a";
    far.address = 500;
    p.registers = {volts, energy, far};
    t.error =
        make_error(ErrorKind::kModbusException, "Modbus exception 2 (illegal data address)", 2);
    t.error_from = 500;
    const ProbeOutcome out = probe_profile(t, 3, p);
    EXPECT_EQ(out.exit_code, 1);
    EXPECT_EQ(out.text,
              "tcp 127.0.0.1:5020 unit 3: profile twin (Acme T2)\n"
              "voltage_v = 229.7\n"
              "energy_import_kwh = 123.4\n"
              "current_a = (not read: Modbus exception 2 (illegal data address))\n");
}

}  // namespace
}  // namespace kaa::modbus
