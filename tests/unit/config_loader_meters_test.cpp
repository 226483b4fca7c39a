// Tests of the gateway configuration loader's buses:, meters: and register validation.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/config_loader.hpp"
#include "tests/unit/config_test_helpers.hpp"

namespace kaa::config {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using namespace kaa::config::testing;  // NOLINT: test helpers

/// One bus b1 whose link line (line 4) is given; more lines may follow from line 5.
std::string bus_with(const std::string& line4, const std::string& more = "") {
    return "kaa: {host: h, app_version: av}\nbuses:\n  - name: b1\n" + line4 + "\n" + more +
           "meters: []\n";
}

/// Meter m1 on bus (line 10) with token (line 9) and one register (line 12); extra lines
/// start at line 13.
std::string meter_with(const std::string& extra, const std::string& token = "t1",
                       const std::string& bus = "tcp1") {
    return kHead + "  - name: m1\n    token: " + token + "\n    bus: " + bus +
           "\n    registers:\n      - {name: v, address: 0}\n" + extra;
}

/// Meter m1 on tcp1 whose register lines start at line 12.
std::string registers(const std::string& lines) {
    return kHead + "  - name: m1\n    token: t1\n    bus: tcp1\n    registers:\n" + lines;
}

/// A second meter m2 (lines 13-16) after meter_with's m1.
std::string second_meter(const std::string& name, const std::string& token) {
    return "  - name: " + name + "\n    token: " + token +
           "\n    bus: tcp1\n    registers: [{name: v, address: 0}]\n";
}

TEST(ConfigBuses, DefaultsPerLinkKind) {
    LoadResult r = load(meter_with("", "t1", "rtu1"));
    ASSERT_THAT(messages(r.errors), IsEmpty());
    EXPECT_THAT(messages(r.warnings), IsEmpty());
    const BusConfig& tcp = r.config->buses[0];
    EXPECT_EQ(std::get<TcpLink>(tcp.link).port, 502);
    EXPECT_EQ(tcp.timeout, Millis{500});
    EXPECT_EQ(tcp.retries, 1);
    EXPECT_EQ(tcp.inter_request_delay, Millis{0});
    EXPECT_EQ(tcp.where.line, 3);
    const BusConfig& rtu = r.config->buses[1];
    const auto& serial = std::get<RtuLink>(rtu.link);
    EXPECT_EQ(serial.baud, 9600);
    EXPECT_EQ(serial.parity, Parity::kNone);
    EXPECT_EQ(serial.data_bits, 8);
    EXPECT_EQ(serial.stop_bits, 1);
    EXPECT_EQ(rtu.inter_request_delay, Millis{20});
}

TEST(ConfigBuses, ExactlyOneLink) {
    EXPECT_THAT(
        errors(bus_with("    rtu: {device: /d}", "    tcp: {host: x}\n")),
        ElementsAre("t.yaml:5:5: bus 'b1': has both rtu and tcp; give exactly one of them"));
    EXPECT_THAT(errors(bus_with("    timeout: 1s")),
                ElementsAre("t.yaml:3:5: bus 'b1': needs exactly one of rtu or tcp"));
}

TEST(ConfigBuses, NameRequiredAndUnique) {
    EXPECT_THAT(errors("kaa: {host: h, app_version: av}\nbuses:\n  - tcp: {host: x}\n"),
                ElementsAre("t.yaml:3:5: missing required key 'name' in buses[0]"));
    EXPECT_THAT(
        errors(bus_with("    tcp: {host: x}", "  - name: b1\n    tcp: {host: y}\n")),
        ElementsAre("t.yaml:5:11: bus 'b1': name 'b1' is already used by the bus at line 3"));
}

TEST(ConfigBuses, RtuParameters) {
    EXPECT_THAT(errors(bus_with("    rtu: {device: /d, baud: 0}")),
                ElementsAre("t.yaml:4:29: bus 'b1' rtu: baud must be at least 1, got 0"));
    EXPECT_THAT(errors(bus_with("    rtu: {device: /d, parity: mark}")),
                ElementsAre("t.yaml:4:31: bus 'b1' rtu: parity must be one of none, even, odd, got "
                            "'mark'"));
    EXPECT_THAT(errors(bus_with("    rtu: {device: /d, data_bits: 4}")),
                ElementsAre("t.yaml:4:34: bus 'b1' rtu: data_bits must be between 5 and 8, got 4"));
    EXPECT_THAT(errors(bus_with("    rtu: {device: /d, stop_bits: 3}")),
                ElementsAre("t.yaml:4:34: bus 'b1' rtu: stop_bits must be between 1 and 2, got 3"));
    EXPECT_THAT(errors(bus_with("    rtu: {baud: 9600}")),
                ElementsAre("t.yaml:4:10: missing required key 'device' in bus 'b1' rtu"));
}

TEST(ConfigBuses, TcpParameters) {
    EXPECT_THAT(errors(bus_with("    tcp: {host: x, port: 0}")),
                ElementsAre("t.yaml:4:26: bus 'b1' tcp: port must be between 1 and 65535, got 0"));
    EXPECT_THAT(errors(bus_with("    tcp: {port: 502}")),
                ElementsAre("t.yaml:4:10: missing required key 'host' in bus 'b1' tcp"));
}

TEST(ConfigBuses, TimeoutAndRetries) {
    EXPECT_THAT(errors(bus_with("    tcp: {host: x}", "    timeout: 0ms\n")),
                ElementsAre("t.yaml:5:14: bus 'b1': timeout must be greater than 0"));
    EXPECT_THAT(errors(bus_with("    tcp: {host: x}", "    retries: 11\n")),
                ElementsAre("t.yaml:5:14: bus 'b1': retries must be between 0 and 10, got 11"));
    EXPECT_THAT(errors(bus_with("    tcp: {host: x}", "    baud: 9600\n")),
                ElementsAre("t.yaml:5:5: unknown key 'baud' in bus 'b1'; allowed keys: name, rtu, "
                            "tcp, timeout, retries, inter_request_delay, pause_after_connect, "
                            "close_after_poll"));
}

TEST(ConfigBuses, ConverterKeys) {
    LoadResult r = load(bus_with("    tcp: {host: x}",
                                 "    pause_after_connect: 500ms\n    close_after_poll: true\n"));
    ASSERT_THAT(messages(r.errors), IsEmpty());
    EXPECT_EQ(r.config->buses[0].pause_after_connect, Millis{500});
    EXPECT_TRUE(r.config->buses[0].close_after_poll);
    r = load(bus_with("    tcp: {host: x}"));
    EXPECT_EQ(r.config->buses[0].pause_after_connect, Millis{0});
    EXPECT_FALSE(r.config->buses[0].close_after_poll);
    EXPECT_THAT(errors(bus_with("    tcp: {host: x}", "    pause_after_connect: 11s\n")),
                ElementsAre("t.yaml:5:26: bus 'b1': pause_after_connect must be at most 10s, got "
                            "11s"));
    EXPECT_THAT(errors(bus_with("    tcp: {host: x}", "    pause_after_connect: 500\n")),
                ElementsAre("t.yaml:5:26: bus 'b1': pause_after_connect: expected a duration like "
                            "500ms, 10s, 5min, got '500'"));
    EXPECT_THAT(errors(bus_with("    tcp: {host: x}", "    close_after_poll: sometimes\n")),
                ElementsAre("t.yaml:5:23: bus 'b1': close_after_poll: expected true or false, got "
                            "'sometimes'"));
    EXPECT_THAT(errors(bus_with("    rtu: {device: /d}", "    close_after_poll: true\n")),
                ElementsAre("t.yaml:5:23: bus 'b1': close_after_poll is only for tcp buses (a "
                            "TCP-to-RTU converter); a serial line has no connection to pause after "
                            "or to close"));
}

TEST(ConfigMeters, DefaultsAndLocations) {
    LoadResult r = load(meter_with(""));
    ASSERT_THAT(messages(r.errors), IsEmpty());
    const MeterConfig& m = r.config->meters[0];
    EXPECT_EQ(m.unit, 1);
    EXPECT_EQ(m.poll_interval, Millis{10'000});
    EXPECT_EQ(m.max_gap, 8);
    EXPECT_EQ(m.max_registers, 125);
    EXPECT_EQ(m.metadata, nlohmann::json::object());
    EXPECT_EQ(m.where.line, 8);
    EXPECT_EQ(m.where.column, 5);
    const RegisterConfig& reg = m.registers[0];
    EXPECT_EQ(reg.function, RegisterFunction::kHolding);
    EXPECT_EQ(reg.type, ValueType::kUint16);
    EXPECT_EQ(reg.byte_order, ByteOrder::kABCD);
    EXPECT_EQ(reg.scale, 1.0);
    EXPECT_EQ(reg.offset, 0.0);
    EXPECT_EQ(reg.where.file, "t.yaml");
    EXPECT_EQ(reg.where.line, 12);
    EXPECT_EQ(reg.where.column, 9);
}

TEST(ConfigMeters, ExtraKeys) {
    LoadResult r = load(meter_with("    max_gap: 0\n    max_registers: 10\n"));
    ASSERT_THAT(messages(r.errors), IsEmpty());
    EXPECT_EQ(r.config->meters[0].max_gap, 0);
    EXPECT_EQ(r.config->meters[0].max_registers, 10);
    EXPECT_THAT(
        errors(meter_with("    max_gap: 126\n")),
        ElementsAre("t.yaml:13:14: meter 'm1': max_gap must be between 0 and 125, got 126"));
    EXPECT_THAT(errors(meter_with("    max_registers: 0\n")),
                ElementsAre("t.yaml:13:20: meter 'm1': max_registers must be between 1 and 125, "
                            "got 0"));
}

TEST(ConfigMeters, NameCharactersAndUniqueness) {
    EXPECT_THAT(errors(kHead + "  - name: m 1\n    token: t1\n    bus: tcp1\n"
                               "    registers: [{name: v, address: 0}]\n"),
                ElementsAre("t.yaml:8:11: meter 'm 1': name 'm 1' may contain only letters, "
                            "digits, '_', '.' and '-'"));
    EXPECT_THAT(errors(meter_with(second_meter("m1", "t2"))),
                ElementsAre("t.yaml:13:11: meter 'm1': name 'm1' is already used by the meter at "
                            "line 8"));
}

TEST(ConfigMeters, TokenCharacters) {
    for (const char* token : {"a+b", "a#b", "a/b", "a.b"}) {
        EXPECT_THAT(errors(meter_with("", token)),
                    ElementsAre("t.yaml:9:12: meter 'm1': token '" + std::string(token) +
                                "' must not contain + # / . characters (Kaa endpoint token)"));
    }
    EXPECT_THAT(errors(meter_with("", "\"\"")),
                ElementsAre("t.yaml:9:12: meter 'm1': token must not be empty"));
}

TEST(ConfigMeters, TokenUniqueAcrossMeters) {
    EXPECT_THAT(errors(meter_with(second_meter("m2", "t1"))),
                ElementsAre("t.yaml:14:12: meter 'm2': token 't1' is already used by meter 'm1'"));
}

TEST(ConfigMeters, BusMustBeDefined) {
    EXPECT_THAT(errors(meter_with("", "t1", "nope")),
                ElementsAre("t.yaml:10:10: meter 'm1': bus 'nope' is not defined; defined buses: "
                            "tcp1, rtu1"));
    EXPECT_THAT(errors("kaa: {host: h, app_version: av}\nmeters:\n  - name: m1\n    token: t1\n"
                       "    bus: b\n    registers: [{name: v, address: 0}]\n"),
                ElementsAre("t.yaml:5:10: meter 'm1': bus 'b' is not defined; no buses are "
                            "defined"));
}

TEST(ConfigMeters, UnitRangeAndRtuBroadcast) {
    EXPECT_THAT(errors(meter_with("    unit: 248\n")),
                ElementsAre("t.yaml:13:11: meter 'm1': unit must be between 0 and 247, got 248"));
    EXPECT_THAT(errors(meter_with("    unit: 0\n")), IsEmpty());
    EXPECT_THAT(errors(meter_with("    unit: 0\n", "t1", "rtu1")),
                ElementsAre("t.yaml:13:11: meter 'm1': unit 0 is the RTU broadcast address, which "
                            "meters never answer; use 1..247"));
}

TEST(ConfigMeters, UnitZeroOnlyForALoneModbusTcpDevice) {
    // Alone on a plain TCP bus: a native Modbus TCP device may be addressed as unit 0.
    EXPECT_THAT(errors(meter_with("    unit: 0\n")), IsEmpty());
    // Behind a converter (several meters on the bus, or a converter key) it is a broadcast.
    EXPECT_THAT(errors(meter_with("    unit: 0\n" + second_meter("m2", "t2"))),
                ElementsAre("t.yaml:13:11: meter 'm1': unit 0 is the Modbus broadcast address: a "
                            "TCP-to-RTU converter passes it on as a broadcast, which no meter "
                            "answers; 2 meters share bus 'tcp1', so give each meter its own unit "
                            "1..247"));
    std::string converter = meter_with("    unit: 0\n");
    converter.replace(converter.find("    tcp: {host: 127.0.0.1}\n"),
                      std::string("    tcp: {host: 127.0.0.1}\n").size(),
                      "    tcp: {host: 127.0.0.1}\n    close_after_poll: true\n");
    EXPECT_THAT(errors(converter),
                ElementsAre("t.yaml:14:11: meter 'm1': unit 0 is the Modbus broadcast address: a "
                            "TCP-to-RTU converter passes it on as a broadcast, which no meter "
                            "answers; bus 'tcp1' is set up for a TCP-to-RTU converter, so give "
                            "each meter its own unit 1..247"));
}

TEST(ConfigMeters, PollInterval) {
    EXPECT_THAT(errors(meter_with("    poll_interval: 50ms\n")),
                ElementsAre("t.yaml:13:20: meter 'm1': poll_interval must be at least 100ms, got "
                            "50ms"));
    EXPECT_THAT(errors(meter_with("    poll_interval: 100ms\n")), IsEmpty());
}

TEST(ConfigMeters, AtLeastOneRegister) {
    EXPECT_THAT(errors(kHead + "  - name: m1\n    token: t1\n    bus: tcp1\n    registers: []\n"),
                ElementsAre("t.yaml:11:16: meter 'm1': registers must list at least one register"));
    EXPECT_THAT(errors(kHead + "  - name: m1\n    token: t1\n    bus: tcp1\n"),
                ElementsAre("t.yaml:8:5: meter 'm1': registers must list at least one register"));
}

TEST(ConfigMeters, MetadataKeysAndValues) {
    EXPECT_THAT(errors(meter_with("    metadata: {model-name: x}\n")),
                ElementsAre("t.yaml:13:16: meter 'm1': metadata key 'model-name' may contain only "
                            "letters, digits and '_'"));
    EXPECT_THAT(
        errors(meter_with("    metadata: &m {a: [*m]}\n")),
        ElementsAre("t.yaml:13:19: meter 'm1': metadata 'a' is nested too deeply or too large (or "
                    "refers to itself)"));
    // Found by fuzz_config: metadata in Latin-1 was accepted, and the uplink's JSON dump of
    // it threw when the daemon connected.
    EXPECT_THAT(errors(meter_with("    metadata: {site: Heizraum S\xFC"
                                  "d, list: [\"ok\", {k: \xFF}]}\n")),
                ElementsAre("t.yaml:13:16: meter 'm1': metadata 'site' is not UTF-8 text; save the "
                            "file as UTF-8",
                            "t.yaml:13:36: meter 'm1': metadata 'list' is not UTF-8 text; save the "
                            "file as UTF-8"));
    LoadResult r = load(meter_with(
        "    metadata: {a: 1, b: \"1\", c: true, d: 1.5, e: text, f: [1, x], g: {h: ~},\n"
        "               i: 0x10, j: '00-14', k: 00-14, l: \"true\", m: -7, n:}\n"));
    ASSERT_THAT(messages(r.errors), IsEmpty());
    EXPECT_EQ(r.config->meters[0].metadata,
              nlohmann::json::parse(R"({"a": 1, "b": "1", "c": true, "d": 1.5, "e": "text",
                  "f": [1, "x"], "g": {"h": null}, "i": 16, "j": "00-14", "k": "00-14",
                  "l": "true", "m": -7, "n": null})"));
}

TEST(ConfigRegisters, NameCharacters) {
    EXPECT_THAT(errors(registers("      - {name: a b, address: 0}\n")),
                ElementsAre("t.yaml:12:16: meter 'm1' register 'a b': name 'a b' may contain only "
                            "letters, digits, '_' and '-'"));
    EXPECT_THAT(errors(registers("      - {name: 123, address: 0}\n")),
                ElementsAre("t.yaml:12:16: meter 'm1' register '123': name '123' must not be "
                            "purely numeric"));
    EXPECT_THAT(errors(registers("      - {address: 0}\n")),
                ElementsAre("t.yaml:12:9: missing required key 'name' in meter 'm1' "
                            "registers[0]"));
}

TEST(ConfigRegisters, ReservedNames) {
    for (const char* name : {"time", "kaaEndpointID", "kaaEmpty", "_field", "_measurement"}) {
        std::string n = name;
        EXPECT_THAT(errors(registers("      - {name: " + n + ", address: 0}\n")),
                    ElementsAre("t.yaml:12:16: meter 'm1' register '" + n + "': name '" + n +
                                "' is reserved by Kaa's time series service (EPTS)"));
    }
    EXPECT_THAT(errors(registers("      - {name: timestamp, address: 0}\n")),
                ElementsAre("t.yaml:12:16: meter 'm1' register 'timestamp': name 'timestamp' is "
                            "the key that carries each sample's read time (kaa.timestamp.key); "
                            "rename the register or the key"));
}

TEST(ConfigRegisters, NamesUniqueWithinAMeter) {
    EXPECT_THAT(errors(registers("      - {name: v, address: 0}\n      - {name: v, address: 1}\n")),
                ElementsAre("t.yaml:13:16: meter 'm1' register 'v': name 'v' is already used by "
                            "the register at line 12"));
    EXPECT_THAT(errors(registers("      - {name: v, address: 0}\n"
                                 "    metadata_registers:\n      - {name: v, address: 1}\n")),
                ElementsAre("t.yaml:14:16: meter 'm1' metadata register 'v': name 'v' is already "
                            "used by the register at line 12"));
}

TEST(ConfigRegisters, MetadataRegisterNames) {
    EXPECT_THAT(
        errors(registers("      - {name: v, address: 0}\n"
                         "    metadata_registers:\n      - {name: serial-no, address: 1}\n")),
        ElementsAre("t.yaml:14:16: meter 'm1' metadata register 'serial-no': name "
                    "'serial-no' may contain only letters, digits and '_' (it is an EPMP "
                    "metadata key)"));
    EXPECT_THAT(errors(registers("      - {name: v, address: 0}\n    metadata: {serial: x}\n"
                                 "    metadata_registers:\n      - {name: serial, address: 1}\n")),
                ElementsAre("t.yaml:15:16: meter 'm1' metadata register 'serial': name 'serial' "
                            "is already a static metadata key (line 13)"));
}

TEST(ConfigRegisters, Address) {
    EXPECT_THAT(errors(registers("      - {name: v, address: 65536}\n")),
                ElementsAre("t.yaml:12:28: meter 'm1' register 'v': address must be between 0 and "
                            "65535, got 65536"));
    EXPECT_THAT(errors(registers("      - {name: v, address: 65535, type: float32}\n")),
                ElementsAre("t.yaml:12:28: meter 'm1' register 'v': address 65535 with type "
                            "float32 (2 registers) ends past the last address 65535"));
    EXPECT_THAT(errors(registers("      - {name: v}\n")),
                ElementsAre("t.yaml:12:9: missing required key 'address' in meter 'm1' register "
                            "'v'"));
    LoadResult r = load(registers("      - {name: v, address: 0xFC00, type: float64}\n"));
    ASSERT_THAT(messages(r.errors), IsEmpty());
    EXPECT_EQ(r.config->meters[0].registers[0].address, 0xFC00);
}

TEST(ConfigRegisters, FunctionTypeAndByteOrder) {
    EXPECT_THAT(errors(registers("      - {name: v, address: 0, function: output}\n")),
                ElementsAre("t.yaml:12:41: meter 'm1' register 'v': function must be one of "
                            "holding, input, coil, discrete, got 'output'"));
    EXPECT_THAT(errors(registers("      - {name: v, address: 0, type: float}\n")),
                ElementsAre("t.yaml:12:37: meter 'm1' register 'v': type must be one of bool, "
                            "int16, uint16, int32, uint32, int64, uint64, float32, float64, "
                            "string, got 'float'"));
    EXPECT_THAT(errors(registers("      - {name: v, address: 0, byte_order: abcd}\n")),
                ElementsAre("t.yaml:12:43: meter 'm1' register 'v': byte_order must be one of "
                            "ABCD, CDAB, BADC, DCBA, got 'abcd'"));
}

TEST(ConfigRegisters, BitFunctionsNeedBool) {
    EXPECT_THAT(errors(registers("      - {name: v, address: 0, function: coil, type: uint16}\n")),
                ElementsAre("t.yaml:12:53: meter 'm1' register 'v': type must be bool for function "
                            "coil, got uint16"));
    LoadResult r = load(registers("      - {name: v, address: 0, function: discrete}\n"));
    ASSERT_THAT(messages(r.errors), IsEmpty());
    EXPECT_EQ(r.config->meters[0].registers[0].type, ValueType::kBool);
}

TEST(ConfigRegisters, StringLength) {
    EXPECT_THAT(errors(registers("      - {name: s, address: 0, type: string}\n")),
                ElementsAre("t.yaml:12:9: missing required key 'length' in meter 'm1' register "
                            "'s'"));
    EXPECT_THAT(errors(registers("      - {name: s, address: 0, type: string, length: 124}\n")),
                ElementsAre("t.yaml:12:53: meter 'm1' register 's': length must be between 1 and "
                            "123, got 124"));
    EXPECT_THAT(errors(registers("      - {name: v, address: 0, length: 2}\n")),
                ElementsAre("t.yaml:12:39: meter 'm1' register 'v': length is only allowed with "
                            "type string"));
    LoadResult r = load(registers("      - {name: s, address: 0, type: string, length: 123}\n"));
    ASSERT_THAT(messages(r.errors), IsEmpty());
    EXPECT_EQ(r.config->meters[0].registers[0].length, 123);
}

TEST(ConfigRegisters, ScaleAndOffset) {
    EXPECT_THAT(errors(registers("      - {name: v, address: 0, scale: 0}\n")),
                ElementsAre("t.yaml:12:38: meter 'm1' register 'v': scale must be a non-zero "
                            "finite number, got 0"));
    EXPECT_THAT(errors(registers("      - {name: v, address: 0, scale: .inf}\n")),
                ElementsAre("t.yaml:12:38: meter 'm1' register 'v': scale: expected a number, got "
                            "'.inf'"));
    EXPECT_THAT(errors(registers("      - {name: v, address: 0, function: coil, scale: 2}\n")),
                ElementsAre("t.yaml:12:54: meter 'm1' register 'v': scale is not allowed with type "
                            "bool"));
    EXPECT_THAT(
        errors(registers("      - {name: s, address: 0, type: string, length: 2, offset: 1}\n")),
        ElementsAre("t.yaml:12:64: meter 'm1' register 's': offset is not allowed with "
                    "type string"));
    LoadResult r = load(registers("      - {name: v, address: 0, scale: 0.1, offset: -40}\n"));
    ASSERT_THAT(messages(r.errors), IsEmpty());
    EXPECT_EQ(r.config->meters[0].registers[0].scale, 0.1);
    EXPECT_EQ(r.config->meters[0].registers[0].offset, -40.0);
}

}  // namespace
}  // namespace kaa::config
