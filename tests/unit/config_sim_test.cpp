// Tests of the simulator configuration loader, and of the demo examples matching each other.
#include "config/sim_config_loader.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "config/config_loader.hpp"
#include "tests/unit/config_test_helpers.hpp"

namespace kaa::config {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using namespace kaa::config::testing;  // NOLINT: test helpers

/// Server p (TCP), unit 1, with register lines starting at line 7 (first key at column 14
/// for a flow mapping written "          - {").
std::string sim_registers(const std::string& lines) {
    return "servers:\n  - name: p\n    tcp: {host: 127.0.0.1, port: 15020}\n    units:\n"
           "      - unit: 1\n        registers:\n" +
           lines;
}

const char* kBriefExample = R"(servers:
  - name: plant-tcp
    tcp: {host: 127.0.0.1, port: 15020}
    units:
      - unit: 1
        registers:
          - {address: 0, function: input, type: float32, byte_order: ABCD, value: 230.5, wander: 2.0}
          - {address: 342, function: input, type: float32, value: 1000.0, rise_per_second: 0.05}
          - {address: 64512, function: holding, type: string, length: 8, value: "SN-000123"}
          - {address: 0, function: coil, type: bool, value: true}
      - unit: 2
        illegal_holes: true
  - name: line
    rtu: {device: /tmp/ttySIM, baud: 19200, parity: even}
)";

TEST(ConfigSim, FormatLoadsAsWritten) {
    LoadSimResult r = load_sim_config_text(kBriefExample, "s.yaml");
    ASSERT_THAT(messages(r.errors), IsEmpty());
    EXPECT_THAT(messages(r.warnings), IsEmpty());
    const SimConfig& c = *r.config;
    EXPECT_EQ(c.source_path, "s.yaml");
    ASSERT_EQ(c.servers.size(), 2u);
    const SimServerConfig& tcp = c.servers[0];
    EXPECT_EQ(tcp.name, "plant-tcp");
    EXPECT_EQ(std::get<TcpLink>(tcp.link).host, "127.0.0.1");
    EXPECT_EQ(std::get<TcpLink>(tcp.link).port, 15020);
    EXPECT_EQ(tcp.where.line, 2);
    ASSERT_EQ(tcp.units.size(), 2u);
    const SimUnitConfig& u1 = tcp.units[0];
    EXPECT_EQ(u1.unit, 1);
    EXPECT_FALSE(u1.illegal_holes);
    EXPECT_EQ(u1.where.line, 5);
    ASSERT_EQ(u1.registers.size(), 4u);
    const SimRegisterConfig& volt = u1.registers[0];
    EXPECT_EQ(volt.reg.address, 0);
    EXPECT_EQ(volt.reg.function, RegisterFunction::kInput);
    EXPECT_EQ(volt.reg.type, ValueType::kFloat32);
    EXPECT_EQ(volt.reg.byte_order, ByteOrder::kABCD);
    EXPECT_EQ(volt.value, 230.5);
    EXPECT_EQ(volt.wander, 2.0);
    EXPECT_EQ(volt.step_per_second, 0.0);
    EXPECT_EQ(volt.reg.where.line, 7);
    EXPECT_EQ(volt.reg.where.column, 13);
    EXPECT_EQ(u1.registers[1].step_per_second, 0.05);
    EXPECT_EQ(u1.registers[1].value, 1000.0);
    const SimRegisterConfig& sn = u1.registers[2];
    EXPECT_EQ(sn.reg.type, ValueType::kString);
    EXPECT_EQ(sn.reg.length, 8);
    EXPECT_EQ(sn.value, "SN-000123");
    EXPECT_EQ(u1.registers[3].reg.function, RegisterFunction::kCoil);
    EXPECT_EQ(u1.registers[3].value, true);
    EXPECT_TRUE(tcp.units[1].illegal_holes);
    EXPECT_TRUE(tcp.units[1].registers.empty());
    const auto& serial = std::get<RtuLink>(c.servers[1].link);
    EXPECT_EQ(serial.device, "/tmp/ttySIM");
    EXPECT_EQ(serial.baud, 19200);
    EXPECT_EQ(serial.parity, Parity::kEven);
}

TEST(ConfigSim, FullRangeIntegerValues) {
    LoadSimResult r = load_sim_config_text(
        sim_registers("          - {address: 0, type: uint64, value: 18446744073709551615}\n"
                      "          - {address: 4, type: int64, value: -9223372036854775808}\n"
                      "          - {address: 8, type: int16, value: -32768}\n"),
        "s.yaml");
    ASSERT_THAT(messages(r.errors), IsEmpty());
    const auto& regs = r.config->servers[0].units[0].registers;
    EXPECT_EQ(regs[0].value.get<uint64_t>(), 18446744073709551615ull);
    EXPECT_EQ(regs[1].value.get<int64_t>(), INT64_MIN);
    EXPECT_EQ(regs[2].value.get<int>(), -32768);
}

TEST(ConfigSim, ServersRequired) {
    EXPECT_THAT(sim_errors("{}\n"),
                ElementsAre("s.yaml:1:1: missing required key 'servers' at the top level"));
    EXPECT_THAT(sim_errors("servers: []\n"),
                ElementsAre("s.yaml:1:10: servers must list at least one server"));
    EXPECT_THAT(sim_errors("servers: 3\n"),
                ElementsAre("s.yaml:1:10: servers: expected a list, got '3'"));
}

TEST(ConfigSim, ServerNameAndLink) {
    EXPECT_THAT(sim_errors("servers:\n  - name: p\n    tcp: {host: x}\n    rtu: {device: /d}\n"),
                ElementsAre("s.yaml:4:5: server 'p': has both rtu and tcp; give exactly one of "
                            "them"));
    EXPECT_THAT(sim_errors("servers:\n  - name: p\n    units: []\n"),
                ElementsAre("s.yaml:2:5: server 'p': needs exactly one of rtu or tcp"));
    EXPECT_THAT(sim_errors("servers:\n  - name: p\n    tcp: {host: x}\n  - name: p\n"
                           "    tcp: {host: y}\n"),
                ElementsAre("s.yaml:4:11: server 'p': name 'p' is already used by the server at "
                            "line 2"));
    EXPECT_THAT(sim_errors("servers:\n  - tcp: {host: x}\n"),
                ElementsAre("s.yaml:2:5: missing required key 'name' in servers[0]"));
}

TEST(ConfigSim, ConverterOnTcpServersOnly) {
    const auto r = load_sim_config_text(
        "servers:\n  - name: c\n    tcp: {host: x, port: 1502}\n"
        "    converter: {baud: 19200, wrong_id_every: 10, wrong_id: unit, wrong_id_word: 0x5555}\n",
        "sim.yaml");
    ASSERT_TRUE(r.config) << (r.errors.empty() ? "" : r.errors[0].to_string());
    ASSERT_TRUE(r.config->servers[0].converter);
    const SimConverterConfig& c = *r.config->servers[0].converter;
    EXPECT_EQ(c.baud, 19200);
    EXPECT_EQ(c.wrong_id_every, 10);
    EXPECT_EQ(c.wrong_id, SimWrongId::kUnit);
    EXPECT_EQ(c.wrong_id_word, 0x5555);
    const auto plain = load_sim_config_text(
        "servers:\n  - name: c\n    tcp: {host: x}\n    converter: {}\n", "sim.yaml");
    ASSERT_TRUE(plain.config);
    EXPECT_EQ(plain.config->servers[0].converter->baud, 9600);
    EXPECT_EQ(plain.config->servers[0].converter->wrong_id_every, 0);
    EXPECT_FALSE(load_sim_config_text("servers:\n  - name: c\n    tcp: {host: x}\n", "sim.yaml")
                     .config->servers[0]
                     .converter);
    EXPECT_THAT(sim_errors("servers:\n  - name: c\n    rtu: {device: /d}\n    converter: {}\n"),
                ElementsAre("s.yaml:4:16: server 'c': converter is only simulated on tcp "
                            "servers (it is the TCP side of a TCP-to-RTU converter)"));
    EXPECT_THAT(sim_errors("servers:\n  - name: c\n    tcp: {host: x}\n"
                           "    converter: {wrong_id: both}\n"),
                ElementsAre("s.yaml:4:27: server 'c' converter: wrong_id must be one of "
                            "transaction, unit, got 'both'"));
}

TEST(ConfigSim, Units) {
    const std::string head = "servers:\n  - name: p\n    tcp: {host: x}\n    units:\n";
    EXPECT_THAT(sim_errors(head + "      - unit: 0\n"),
                ElementsAre("s.yaml:5:15: server 'p' unit 0: unit must be between 1 and 247, got "
                            "0"));
    EXPECT_THAT(sim_errors(head + "      - unit: 1\n      - unit: 1\n"),
                ElementsAre("s.yaml:6:15: server 'p' unit 1: unit 1 is already simulated by this "
                            "server (line 5)"));
    EXPECT_THAT(sim_errors(head + "      - illegal_holes: true\n"),
                ElementsAre("s.yaml:5:9: missing required key 'unit' in server 'p' units[0]"));
    EXPECT_THAT(sim_errors(head + "      - {unit: 1, illegal_holes: maybe}\n"),
                ElementsAre("s.yaml:5:34: server 'p' unit 1: illegal_holes: expected true or "
                            "false, got 'maybe'"));
}

TEST(ConfigSim, RegisterKeysAreChecked) {
    EXPECT_THAT(
        sim_errors(sim_registers("          - {address: 0, value: 1, scale: 2}\n")),
        ElementsAre("s.yaml:7:36: unknown key 'scale' in server 'p' unit 1 registers[0]; allowed "
                    "keys: name, address, function, type, byte_order, length, value, "
                    "rise_per_second, wander"));
    EXPECT_THAT(sim_errors(sim_registers("          - {address: 0}\n")),
                ElementsAre("s.yaml:7:13: missing required key 'value' in server 'p' unit 1 "
                            "registers[0]"));
    EXPECT_THAT(sim_errors(sim_registers("          - {address: 0, type: string, value: x}\n")),
                ElementsAre("s.yaml:7:13: missing required key 'length' in server 'p' unit 1 "
                            "registers[0]"));
    EXPECT_THAT(sim_errors(sim_registers("          - {address: 0, function: coil, type: int16, "
                                         "value: true}\n")),
                ElementsAre("s.yaml:7:48: server 'p' unit 1 registers[0]: type must be bool for "
                            "function coil, got int16"));
}

TEST(ConfigSim, ValueMatchesType) {
    EXPECT_THAT(sim_errors(sim_registers("          - {address: 0, type: bool, value: 1}\n")),
                ElementsAre("s.yaml:7:45: server 'p' unit 1 registers[0]: value must be true or "
                            "false for type bool, got '1'"));
    EXPECT_THAT(sim_errors(sim_registers("          - {address: 0, type: float32, value: hot}\n")),
                ElementsAre("s.yaml:7:48: server 'p' unit 1 registers[0]: value must be a number "
                            "for type float32, got 'hot'"));
    EXPECT_THAT(sim_errors(sim_registers("          - {address: 0, value: 70000}\n")),
                ElementsAre("s.yaml:7:33: server 'p' unit 1 registers[0]: value 70000 is out of "
                            "range for type uint16"));
    EXPECT_THAT(sim_errors(sim_registers("          - {address: 0, value: [1]}\n")),
                ElementsAre("s.yaml:7:33: server 'p' unit 1 registers[0]: value must be a single "
                            "value, got a list"));
    EXPECT_THAT(sim_errors(sim_registers(
                    "          - {address: 0, type: string, length: 2, value: abcde}\n")),
                ElementsAre("s.yaml:7:58: server 'p' unit 1 registers[0]: value 'abcde' has 5 "
                            "characters; length 2 holds at most 4"));
}

TEST(ConfigSim, RiseAndWander) {
    EXPECT_THAT(sim_errors(sim_registers(
                    "          - {address: 0, type: bool, value: true, rise_per_second: 1}\n")),
                ElementsAre("s.yaml:7:68: server 'p' unit 1 registers[0]: rise_per_second is only "
                            "allowed with numeric types, not bool"));
    EXPECT_THAT(sim_errors(sim_registers(
                    "          - {address: 0, type: string, length: 1, value: a, wander: 1}\n")),
                ElementsAre("s.yaml:7:69: server 'p' unit 1 registers[0]: wander is only allowed "
                            "with numeric types, not string"));
    EXPECT_THAT(sim_errors(sim_registers("          - {address: 0, value: 5, wander: -1}\n")),
                ElementsAre("s.yaml:7:44: server 'p' unit 1 registers[0]: wander must be at least "
                            "0, got -1"));
}

TEST(ConfigSim, FaultsOfARtuUnit) {
    const std::string head = "servers:\n  - name: line\n    rtu: {device: /tmp/x}\n    units:\n";
    LoadSimResult r = load_sim_config_text(
        head +
            "      - {unit: 1, reply_delay: 400ms, corrupt: crc, corrupt_every: 3}\n"
            "      - {unit: 2, corrupt: garbage}\n      - {unit: 3}\n",
        "s.yaml");
    ASSERT_TRUE(r.config) << (r.errors.empty() ? "" : r.errors[0].to_string());
    const auto& units = r.config->servers[0].units;
    EXPECT_EQ(units[0].faults.reply_delay, std::chrono::milliseconds(400));
    EXPECT_EQ(units[0].faults.corrupt, SimCorruption::kCrc);
    EXPECT_EQ(units[0].faults.corrupt_every, 3);
    EXPECT_EQ(units[1].faults.reply_delay, std::chrono::milliseconds(0));
    EXPECT_EQ(units[1].faults.corrupt, SimCorruption::kGarbage);
    EXPECT_EQ(units[1].faults.corrupt_every, 1);
    EXPECT_EQ(units[2].faults.corrupt, SimCorruption::kNone);
}

TEST(ConfigSim, BadFaultsAreNamedWithTheirPlace) {
    const std::string rtu = "servers:\n  - name: line\n    rtu: {device: /tmp/x}\n    units:\n";
    EXPECT_THAT(sim_errors(rtu + "      - {unit: 1, reply_delay: 400}\n"),
                ElementsAre("s.yaml:5:32: server 'line' unit 1: reply_delay: expected a duration "
                            "like 500ms, 10s, 5min, got '400'"));
    EXPECT_THAT(sim_errors(rtu + "      - {unit: 1, reply_delay: 2min}\n"),
                ElementsAre("s.yaml:5:32: server 'line' unit 1: reply_delay must be at most 60s, "
                            "got 2min (leave the unit out to simulate a meter that never "
                            "answers)"));
    EXPECT_THAT(sim_errors(rtu + "      - {unit: 1, corrupt: noise}\n"),
                ElementsAre("s.yaml:5:28: server 'line' unit 1: corrupt must be one of none, crc, "
                            "garbage, got 'noise'"));
    EXPECT_THAT(sim_errors(rtu + "      - {unit: 1, corrupt_every: 2}\n"),
                ElementsAre("s.yaml:5:34: server 'line' unit 1: corrupt_every needs corrupt: crc "
                            "or corrupt: garbage"));
    EXPECT_THAT(sim_errors(rtu + "      - {unit: 1, corrupt: crc, corrupt_every: 0}\n"),
                ElementsAre("s.yaml:5:48: server 'line' unit 1: corrupt_every must be between 1 "
                            "and 1000000, got 0"));
    EXPECT_THAT(sim_errors("servers:\n  - name: p\n    tcp: {host: x}\n    units:\n"
                           "      - {unit: 1, reply_delay: 1s}\n"),
                ElementsAre("s.yaml:5:32: server 'p' unit 1: reply_delay is only simulated on rtu "
                            "servers, not on tcp"));
}

TEST(ConfigSim, RegistersOfATableMustNotOverlap) {
    EXPECT_THAT(sim_errors(sim_registers("          - {address: 0, type: float32, value: 1}\n"
                                         "          - {address: 1, value: 2}\n"
                                         "          - {address: 1, function: input, value: 3}\n")),
                ElementsAre("s.yaml:8:23: server 'p' unit 1 registers[1]: address 1..1 overlaps "
                            "the holding register at line 7 (addresses 0..1)"));
}

TEST(ConfigSim, MissingFileNamesThePath) {
    LoadSimResult r = load_sim_config("/nonexistent/sim.yaml");
    EXPECT_FALSE(r.config);
    EXPECT_THAT(messages(r.errors),
                ElementsAre("/nonexistent/sim.yaml: cannot open config file "
                            "'/nonexistent/sim.yaml': No such file or directory"));
}

/// The simulator register serving a gateway register, or nullptr.
const SimRegisterConfig* served(const SimUnitConfig& unit, const RegisterConfig& reg) {
    for (const auto& sim : unit.registers) {
        const RegisterConfig& s = sim.reg;
        if (s.address == reg.address && s.function == reg.function && s.type == reg.type &&
            s.byte_order == reg.byte_order && s.length == reg.length) {
            return &sim;
        }
    }
    return nullptr;
}

TEST(ConfigExamples, SimulatorServesEveryRegisterTheGatewayReads) {
    LoadResult gw = load_gateway_config(KAA_SOURCE_DIR "/config/examples/gateway.yaml");
    LoadSimResult sim = load_sim_config(KAA_SOURCE_DIR "/config/examples/sim.yaml");
    ASSERT_TRUE(gw.config);
    ASSERT_TRUE(sim.config);
    const std::map<std::string, std::string> server_of = {{"plant", "plant-tcp"},
                                                          {"rs485-1", "rs485-sim"}};
    for (const MeterConfig& meter : gw.config->meters) {
        const SimUnitConfig* unit = nullptr;
        for (const auto& server : sim.config->servers) {
            for (const auto& u : server.units) {
                if (server.name == server_of.at(meter.bus) && u.unit == meter.unit) {
                    unit = &u;
                }
            }
        }
        ASSERT_NE(unit, nullptr) << meter.name;
        for (const auto* list : {&meter.registers, &meter.metadata_registers}) {
            for (const RegisterConfig& reg : *list) {
                EXPECT_NE(served(*unit, reg), nullptr) << meter.name << " " << reg.name;
            }
        }
    }
}

}  // namespace
}  // namespace kaa::config
