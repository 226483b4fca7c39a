// Tests of the gateway configuration loader: the reference file, defaults, the top level,
// the kaa: and buffer: sections, file handling, and the example configurations.
#include "config/config_loader.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "config/machine_id.hpp"
#include "config/sim_config_loader.hpp"
#include "tests/unit/config_test_helpers.hpp"

namespace kaa::config {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;
using namespace kaa::config::testing;  // NOLINT: test helpers

const std::string kReference = KAA_SOURCE_DIR "/config/reference.yaml";

TEST(ConfigLoader, ReferenceFileLoadsAsWritten) {
    LoadOptions options;
    options.check_files = false;
    LoadResult r = load_gateway_config(kReference, options);
    ASSERT_THAT(messages(r.errors), IsEmpty());
    // The reference combines port 1883 with a tls: section, which is worth a warning.
    EXPECT_THAT(messages(r.warnings),
                ElementsAre(kReference + ":10:9: kaa: port 1883 is the plain MQTT port but tls: is "
                                         "configured; use 8883 or remove the tls: section"));
    ASSERT_TRUE(r.config);
    const GatewayConfig& c = *r.config;
    EXPECT_EQ(c.source_path, kReference);

    EXPECT_EQ(c.kaa.host, "127.0.0.1");
    EXPECT_EQ(c.kaa.port, 1883);
    EXPECT_EQ(c.kaa.app_version, "demo_application_v1");
    EXPECT_EQ(c.kaa.client_id, "gateway-01");
    EXPECT_EQ(c.kaa.keepalive, Millis{60'000});
    EXPECT_EQ(c.kaa.qos, 1);
    EXPECT_EQ(c.kaa.delivery, Delivery::kStatus);
    EXPECT_EQ(c.kaa.response_timeout, Millis{30'000});
    ASSERT_TRUE(c.kaa.tls);
    EXPECT_EQ(c.kaa.tls->ca_file, "/etc/ssl/certs/ca-certificates.crt");
    EXPECT_EQ(c.kaa.tls->cert_file, "/etc/kaa-gateway/client.crt");
    EXPECT_EQ(c.kaa.tls->key_file, "/etc/kaa-gateway/client.key");
    ASSERT_TRUE(c.kaa.auth);
    EXPECT_EQ(c.kaa.auth->username, "gw-01@tenant");
    EXPECT_EQ(c.kaa.auth->password_file, "/etc/kaa-gateway/password");
    EXPECT_EQ(c.kaa.reconnect.min_delay, Millis{1000});
    EXPECT_EQ(c.kaa.reconnect.max_delay, Millis{60'000});

    EXPECT_EQ(c.buffer.path, "/var/lib/kaa-gateway/buffer.db");
    EXPECT_EQ(c.buffer.max_size_bytes, 256ull * 1024 * 1024);
    EXPECT_EQ(c.buffer.overflow, Overflow::kDropOldest);
    EXPECT_EQ(c.buffer.batch, 500);
    EXPECT_EQ(c.status.socket, "/run/kaa-gateway/status.sock");

    ASSERT_EQ(c.buses.size(), 2u);
    const BusConfig& rtu = c.buses[0];
    EXPECT_EQ(rtu.name, "rs485-1");
    ASSERT_TRUE(std::holds_alternative<RtuLink>(rtu.link));
    const auto& serial = std::get<RtuLink>(rtu.link);
    EXPECT_EQ(serial.device, "/dev/ttyUSB0");
    EXPECT_EQ(serial.baud, 9600);
    EXPECT_EQ(serial.parity, Parity::kNone);
    EXPECT_EQ(serial.data_bits, 8);
    EXPECT_EQ(serial.stop_bits, 1);
    EXPECT_EQ(rtu.timeout, Millis{500});
    EXPECT_EQ(rtu.retries, 1);
    EXPECT_EQ(rtu.inter_request_delay, Millis{20});
    EXPECT_EQ(rtu.where.file, kReference);
    EXPECT_EQ(rtu.where.line, 50);
    EXPECT_EQ(rtu.where.column, 5);
    const BusConfig& tcp = c.buses[1];
    EXPECT_EQ(tcp.name, "plant");
    ASSERT_TRUE(std::holds_alternative<TcpLink>(tcp.link));
    EXPECT_EQ(std::get<TcpLink>(tcp.link).host, "127.0.0.1");
    EXPECT_EQ(std::get<TcpLink>(tcp.link).port, 502);
    EXPECT_EQ(tcp.timeout, Millis{1000});
    EXPECT_EQ(tcp.retries, 1);
    EXPECT_EQ(tcp.inter_request_delay, Millis{0});
    EXPECT_EQ(tcp.where.line, 60);
    EXPECT_EQ(tcp.pause_after_connect, Millis{0});
    EXPECT_FALSE(tcp.close_after_poll);

    ASSERT_EQ(c.meters.size(), 1u);
    const MeterConfig& m = c.meters[0];
    EXPECT_EQ(m.name, "main-meter");
    EXPECT_EQ(m.token, "meter-001");
    EXPECT_EQ(m.bus, "rs485-1");
    EXPECT_EQ(m.unit, 1);
    EXPECT_EQ(m.poll_interval, Millis{10'000});
    EXPECT_EQ(m.metadata, nlohmann::json::parse(
                              R"({"model": "MySmartMeter A300", "mac": "00-14-22-01-23-45"})"));
    EXPECT_EQ(m.max_gap, 8);
    EXPECT_EQ(m.max_registers, 125);
    EXPECT_EQ(m.where.line, 69);
    EXPECT_EQ(m.where.column, 5);

    ASSERT_EQ(m.metadata_registers.size(), 1u);
    const RegisterConfig& sn = m.metadata_registers[0];
    EXPECT_EQ(sn.name, "serial_number");
    EXPECT_EQ(sn.address, 64512);
    EXPECT_EQ(sn.function, RegisterFunction::kHolding);
    EXPECT_EQ(sn.type, ValueType::kUint32);
    EXPECT_EQ(sn.where.line, 78);

    ASSERT_EQ(m.registers.size(), 2u);
    const RegisterConfig& v = m.registers[0];
    EXPECT_EQ(v.name, "voltage");
    EXPECT_EQ(v.address, 0);
    EXPECT_EQ(v.function, RegisterFunction::kInput);
    EXPECT_EQ(v.type, ValueType::kFloat32);
    EXPECT_EQ(v.byte_order, ByteOrder::kABCD);
    EXPECT_EQ(v.scale, 1.0);
    EXPECT_EQ(v.offset, 0.0);
    EXPECT_EQ(v.where.line, 83);
    EXPECT_EQ(v.where.column, 9);
    const RegisterConfig& e = m.registers[1];
    EXPECT_EQ(e.name, "energy_total");
    EXPECT_EQ(e.address, 342);
    EXPECT_EQ(e.function, RegisterFunction::kInput);
    EXPECT_EQ(e.type, ValueType::kFloat32);
    EXPECT_EQ(e.byte_order, ByteOrder::kABCD);
    EXPECT_EQ(e.where.line, 90);
}

TEST(ConfigLoader, ReferencePasswordFileIsCheckedByDefault) {
    LoadResult r = load_gateway_config(kReference);
    if (access("/etc/kaa-gateway/password", F_OK) != 0) {
        EXPECT_THAT(messages(r.errors),
                    ::testing::Contains(kReference + ":26:20: kaa.auth: password_file "
                                                     "'/etc/kaa-gateway/password' does not exist"));
    }
    if (access("/etc/kaa-gateway/client.key", F_OK) != 0) {
        EXPECT_THAT(
            messages(r.errors),
            ::testing::Contains(kReference + ":23:15: kaa.tls: key_file "
                                             "'/etc/kaa-gateway/client.key' does not exist"));
    }
}

TEST(ConfigLoader, MissingPasswordFileIsAnErrorToRunButAWarningToCheck) {
    const std::string text =
        "kaa:\n"
        "  host: h\n"
        "  app_version: av\n"
        "  auth: {username: u, password_file: /nonexistent-kaa-dir/password}\n"
        "meters: []\n";
    LoadResult run = load_gateway_config_text(text, "t.yaml");
    EXPECT_THAT(messages(run.errors),
                ElementsAre("t.yaml:4:38: kaa.auth: password_file "
                            "'/nonexistent-kaa-dir/password' does not exist"));
    LoadOptions checking;
    checking.missing_files_are_errors = false;
    LoadResult check = load_gateway_config_text(text, "t.yaml", checking);
    EXPECT_THAT(messages(check.errors), IsEmpty());
    EXPECT_THAT(messages(check.warnings),
                ::testing::Contains("t.yaml:4:38: kaa.auth: password_file "
                                    "'/nonexistent-kaa-dir/password' does not exist; the daemon "
                                    "will not start until it does"));
}

TEST(ConfigLoader, KaaDefaults) {
    LoadResult r = load("kaa: {host: h, app_version: av}\n");
    ASSERT_THAT(messages(r.errors), IsEmpty());
    EXPECT_THAT(messages(r.warnings), ElementsAre("t.yaml:1:1: no meters configured"));
    const KaaConfig& k = r.config->kaa;
    EXPECT_EQ(k.port, 1883);
    EXPECT_EQ(k.client_id, default_client_id());  // from /etc/machine-id (config_machine_id_test)
    EXPECT_EQ(k.timestamp.key, "timestamp");
    EXPECT_EQ(k.timestamp.format, TimestampFormat::kMillis);
    EXPECT_EQ(k.keepalive, Millis{60'000});
    EXPECT_EQ(k.qos, 1);
    EXPECT_EQ(k.delivery, Delivery::kStatus);
    EXPECT_EQ(k.response_timeout, Millis{30'000});
    EXPECT_EQ(k.max_in_flight, 16);
    EXPECT_EQ(k.live_window, Millis{0});
    EXPECT_FALSE(k.tls);
    EXPECT_FALSE(k.auth);
    EXPECT_EQ(k.reconnect.min_delay, Millis{1000});
    EXPECT_EQ(k.reconnect.max_delay, Millis{60'000});
    const BufferConfig& b = r.config->buffer;
    EXPECT_EQ(b.path, "/var/lib/kaa-gateway/buffer.db");
    EXPECT_EQ(b.max_size_bytes, 256ull * 1024 * 1024);
    EXPECT_EQ(b.overflow, Overflow::kDropOldest);
    EXPECT_EQ(b.batch, 500);
    EXPECT_TRUE(r.config->buses.empty());
    EXPECT_TRUE(r.config->meters.empty());
}

TEST(ConfigLoader, TlsWithoutPortDefaultsTo8883) {
    LoadResult r = load(kaa_with("  tls: {ca_file: /ca}\nmeters: []\n"));
    ASSERT_THAT(messages(r.errors), IsEmpty());
    EXPECT_THAT(messages(r.warnings), ElementsAre("t.yaml:5:9: no meters configured"));
    EXPECT_EQ(r.config->kaa.port, 8883);
}

TEST(ConfigLoader, OtherValuesAsWritten) {
    LoadResult r =
        load(kaa_with("  qos: 0\n  delivery: none\n  keepalive: 1.5min\n"
                      "buffer: {max_size: 2MB, overflow: drop-newest, batch: 10000}\n"));
    ASSERT_THAT(messages(r.errors), IsEmpty());
    EXPECT_EQ(r.config->kaa.qos, 0);
    EXPECT_EQ(r.config->kaa.delivery, Delivery::kNone);
    EXPECT_EQ(r.config->kaa.keepalive, Millis{90'000});
    EXPECT_EQ(r.config->buffer.max_size_bytes, 2'000'000u);
    EXPECT_EQ(r.config->buffer.overflow, Overflow::kDropNewest);
    EXPECT_EQ(r.config->buffer.batch, 10000);
}

TEST(ConfigLoader, MissingKaaSection) {
    EXPECT_THAT(errors("buffer: {}\n"),
                ElementsAre("t.yaml:1:1: missing required key 'kaa' at the top level"));
}

TEST(ConfigLoader, MissingHostAndAppVersion) {
    EXPECT_THAT(errors("kaa: {port: 1883}\n"),
                ElementsAre("t.yaml:1:6: missing required key 'host' in kaa",
                            "t.yaml:1:6: missing required key 'app_version' in kaa"));
}

TEST(ConfigLoader, UnknownKeyListsAllowedKeys) {
    EXPECT_THAT(errors(kaa_with("  hots: x\n")),
                ElementsAre("t.yaml:4:3: unknown key 'hots' in kaa; allowed keys: host, port, "
                            "app_version, client_id, keepalive, qos, delivery, response_timeout, "
                            "max_in_flight, live_window, "
                            "tls, auth, reconnect, timestamp, remote_config"));
    EXPECT_THAT(errors("kaa: {host: h, app_version: av}\nmeter: []\n"),
                ElementsAre("t.yaml:2:1: unknown key 'meter' at the top level; allowed keys: kaa, "
                            "buffer, gateway, status, clock, buses, meters"));
    EXPECT_THAT(errors(kaa_with("buffer: {size: 1MiB}\n")),
                ElementsAre("t.yaml:4:10: unknown key 'size' in buffer; allowed keys: path, "
                            "max_size, overflow, batch, batch_bytes"));
}

TEST(ConfigLoader, ValuesWithControlCharactersAreEscapedInErrors) {
    // A double-quoted YAML scalar can carry a newline and an escape sequence: echoed raw
    // they would forge a line of their own on the terminal or in the journal.
    const auto errs = errors(kaa_with("buffer: {overflow: \"x\\nt.yaml:1:1: forged\\e[31m\"}\n"));
    ASSERT_EQ(errs.size(), 1u);
    EXPECT_EQ(errs[0].find('\n'), std::string::npos) << errs[0];
    EXPECT_EQ(errs[0].find('\x1b'), std::string::npos) << errs[0];
    EXPECT_NE(errs[0].find("'x\\nt.yaml:1:1: forged\\x1b[31m'"), std::string::npos) << errs[0];
}

TEST(ConfigLoader, AHugeValueIsCutInItsError) {
    const auto errs = errors(kaa_with("buffer: {overflow: " + std::string(100'000, 'z') + "}\n"));
    ASSERT_EQ(errs.size(), 1u);
    EXPECT_LT(errs[0].size(), 1100u);
    EXPECT_NE(errs[0].find("bytes)"), std::string::npos) << errs[0].substr(0, 200);
}

TEST(ConfigLoader, AHugeDurationIsAnErrorNotAnOverflow) {
    const auto errs = errors(kaa_with("  keepalive: 9223372036854775807ms\n"));
    ASSERT_EQ(errs.size(), 1u);
    EXPECT_EQ(errs[0],
              "t.yaml:4:14: kaa: keepalive must be at most 8760h (a year), got "
              "9223372036854775807ms");
}

TEST(ConfigLoader, DuplicateKey) {
    EXPECT_THAT(errors("kaa: {host: h, app_version: av, host: g}\n"),
                ElementsAre("t.yaml:1:33: duplicate key 'host' in kaa"));
}

TEST(ConfigLoader, TopLevelMustBeAMapping) {
    EXPECT_THAT(errors("- a\n"),
                ElementsAre("t.yaml:1:1: the file: expected a mapping with keys "
                            "kaa, buffer, gateway, status, clock, buses, meters, got a list"));
}

TEST(ConfigLoader, YamlSyntaxErrorHasItsPosition) {
    EXPECT_THAT(errors("kaa: [1\nb: 2\n"),
                ElementsAre("t.yaml:2:2: invalid YAML: end of sequence flow not found"));
}

TEST(ConfigLoader, MissingFileNamesThePath) {
    LoadResult r = load_gateway_config("/nonexistent/gw.yaml");
    EXPECT_FALSE(r.config);
    EXPECT_THAT(messages(r.errors),
                ElementsAre("/nonexistent/gw.yaml: cannot open config file "
                            "'/nonexistent/gw.yaml': No such file or directory"));
}

TEST(ConfigLoader, ThreeErrorsAreAllReported) {
    LoadResult r = load(kaa_with("  port: 0\n  qos: 2\n  colour: blue\n"));
    EXPECT_FALSE(r.config);
    EXPECT_THAT(messages(r.errors),
                ElementsAre("t.yaml:4:9: kaa: port must be between 1 and 65535, got 0",
                            "t.yaml:5:8: kaa: qos must be 0 or 1, got 2",
                            "t.yaml:6:3: unknown key 'colour' in kaa; allowed keys: host, port, "
                            "app_version, client_id, keepalive, qos, delivery, response_timeout, "
                            "max_in_flight, live_window, "
                            "tls, auth, reconnect, timestamp, remote_config"));
}

TEST(ConfigKaa, LiveWindowIsADurationUpToAMinute) {
    LoadResult r = load(kaa_with("  live_window: 1s\nmeters: []\n"));
    ASSERT_TRUE(r.config);
    EXPECT_EQ(r.config->kaa.live_window, Millis{1000});
    EXPECT_THAT(errors(kaa_with("  live_window: 2min\n")),
                ElementsAre("t.yaml:4:16: kaa: live_window must be at most 1min (readings would "
                            "wait longer than the dashboard's patience), got 2min"));
}

TEST(ConfigKaa, AppVersionCharacters) {
    EXPECT_THAT(errors("kaa:\n  host: h\n  app_version: Demo_V1\n"),
                ElementsAre("t.yaml:3:16: kaa: app_version 'Demo_V1' may contain only a-z, 0-9, "
                            "'_' and '-'"));
    EXPECT_THAT(errors("kaa:\n  host: h\n  app_version: a.b\n"),
                ElementsAre("t.yaml:3:16: kaa: app_version 'a.b' may contain only a-z, 0-9, '_' "
                            "and '-'"));
}

TEST(ConfigKaa, ClientId) {
    EXPECT_THAT(errors(kaa_with("  client_id: gw+1\n")),
                ElementsAre("t.yaml:4:14: kaa: client_id 'gw+1' must not contain + or #"));
    EXPECT_THAT(errors(kaa_with("  client_id: gw#1\n")),
                ElementsAre("t.yaml:4:14: kaa: client_id 'gw#1' must not contain + or #"));
    EXPECT_THAT(errors(kaa_with("  client_id: \"\"\n")),
                ElementsAre("t.yaml:4:14: kaa: client_id must not be empty"));
}

TEST(ConfigKaa, Port) {
    EXPECT_THAT(errors(kaa_with("  port: 65536\n")),
                ElementsAre("t.yaml:4:9: kaa: port must be between 1 and 65535, got 65536"));
    EXPECT_THAT(errors(kaa_with("  port: abc\n")),
                ElementsAre("t.yaml:4:9: kaa: port: expected an integer, got 'abc'"));
}

TEST(ConfigKaa, QosAndDelivery) {
    EXPECT_THAT(errors(kaa_with("  qos: 2\n")),
                ElementsAre("t.yaml:4:8: kaa: qos must be 0 or 1, got 2"));
    EXPECT_THAT(errors(kaa_with("  delivery: always\n")),
                ElementsAre("t.yaml:4:13: kaa: delivery must be one of status, puback, none, got "
                            "'always'"));
    EXPECT_THAT(errors(kaa_with("  qos: 0\n  delivery: puback\n")),
                ElementsAre("t.yaml:5:13: kaa: delivery puback needs qos 1: with qos 0 the broker "
                            "sends no PUBACK"));
}

TEST(ConfigKaa, KeepaliveRangeAndSyntax) {
    EXPECT_THAT(errors(kaa_with("  keepalive: 2s\n")),
                ElementsAre("t.yaml:4:14: kaa: keepalive must be between 5s and 65535s, got 2s"));
    EXPECT_THAT(errors(kaa_with("  keepalive: 65536s\n")),
                ElementsAre("t.yaml:4:14: kaa: keepalive must be between 5s and 65535s, got "
                            "65536s"));
    EXPECT_THAT(errors(kaa_with("  keepalive: abc\n")),
                ElementsAre("t.yaml:4:14: kaa: keepalive: expected a duration like 500ms, 10s, "
                            "5min, got 'abc'"));
    EXPECT_THAT(errors(kaa_with("  keepalive: 60\n")),
                ElementsAre("t.yaml:4:14: kaa: keepalive: expected a duration like 500ms, 10s, "
                            "5min, got '60'"));
    EXPECT_THAT(errors(kaa_with("  keepalive:\n")),
                ElementsAre("t.yaml:4:3: kaa: keepalive: expected a duration like 500ms, 10s, "
                            "5min, got nothing"));
}

TEST(ConfigKaa, ResponseTimeoutMustBePositive) {
    EXPECT_THAT(errors(kaa_with("  response_timeout: 0s\n")),
                ElementsAre("t.yaml:4:21: kaa: response_timeout must be greater than 0"));
}

TEST(ConfigKaa, TlsNeedsCaFile) {
    EXPECT_THAT(errors(kaa_with("  tls: {cert_file: /c, key_file: /k}\n")),
                ElementsAre("t.yaml:4:8: missing required key 'ca_file' in kaa.tls"));
    EXPECT_THAT(errors(kaa_with("  tls:\n")),
                ElementsAre("t.yaml:4:3: missing required key 'ca_file' in kaa.tls"));
}

TEST(ConfigKaa, TlsCertAndKeyGoTogether) {
    EXPECT_THAT(errors(kaa_with("  tls: {ca_file: /ca, cert_file: /c}\n")),
                ElementsAre("t.yaml:4:23: kaa.tls: cert_file and key_file go together; key_file "
                            "is missing"));
    EXPECT_THAT(errors(kaa_with("  tls: {ca_file: /ca, key_file: /k}\n")),
                ElementsAre("t.yaml:4:23: kaa.tls: cert_file and key_file go together; cert_file "
                            "is missing"));
}

TEST(ConfigKaa, AuthNeedsUsernameAndPasswordFile) {
    EXPECT_THAT(errors(kaa_with("  auth: {username: u}\n")),
                ElementsAre("t.yaml:4:9: missing required key 'password_file' in kaa.auth"));
    EXPECT_THAT(errors(kaa_with("  auth: {password_file: /p}\n")),
                ElementsAre("t.yaml:4:9: missing required key 'username' in kaa.auth"));
}

TEST(ConfigKaa, MissingPasswordFileIsAnError) {
    LoadResult r = load_gateway_config_text(
        kaa_with("  auth: {username: u, password_file: /nonexistent/kaa-pw}\n"), "t.yaml");
    EXPECT_THAT(messages(r.errors),
                ElementsAre("t.yaml:4:38: kaa.auth: password_file '/nonexistent/kaa-pw' does not "
                            "exist"));
}

TEST(ConfigKaa, WorldReadablePasswordFileIsAWarning) {
    char path[] = "/tmp/kaa-pw-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    close(fd);
    std::string yaml =
        kaa_with("  auth: {username: u, password_file: " + std::string(path) + "}\nmeters: []\n");
    chmod(path, 0644);
    LoadResult open = load_gateway_config_text(yaml, "t.yaml");
    chmod(path, 0600);
    LoadResult closed = load_gateway_config_text(yaml, "t.yaml");
    std::remove(path);
    EXPECT_THAT(messages(open.errors), IsEmpty());
    EXPECT_THAT(messages(open.warnings),
                ElementsAre("t.yaml:4:38: kaa.auth: password_file '" + std::string(path) +
                                "' is readable by every user, and it is a secret; run chmod o-r '" +
                                std::string(path) + "'",
                            "t.yaml:5:9: no meters configured"));
    EXPECT_THAT(messages(closed.warnings), ElementsAre("t.yaml:5:9: no meters configured"));
}

TEST(ConfigKaa, Reconnect) {
    EXPECT_THAT(errors(kaa_with("  reconnect: {min_delay: 5s, max_delay: 1s}\n")),
                ElementsAre("t.yaml:4:26: kaa.reconnect: min_delay 5s must not be greater than "
                            "max_delay 1s"));
    EXPECT_THAT(errors(kaa_with("  reconnect: {max_delay: 500ms}\n")),
                ElementsAre("t.yaml:4:26: kaa.reconnect: max_delay 500ms must not be smaller than "
                            "min_delay 1s"));
    EXPECT_THAT(errors(kaa_with("  reconnect: {min_delay: 0s}\n")),
                ElementsAre("t.yaml:4:26: kaa.reconnect: min_delay must be greater than 0"));
}

TEST(ConfigKaa, PortAndTlsMismatchWarns) {
    LoadResult plain = load(kaa_with("  port: 8883\nmeters: []\n"));
    EXPECT_THAT(messages(plain.errors), IsEmpty());
    EXPECT_THAT(messages(plain.warnings),
                ElementsAre("t.yaml:4:9: kaa: port 8883 is the TLS port; add a tls: section or "
                            "use 1883",
                            "t.yaml:5:9: no meters configured"));
    LoadResult tls = load(kaa_with("  port: 1883\n  tls: {ca_file: /ca}\nmeters: []\n"));
    EXPECT_THAT(messages(tls.errors), IsEmpty());
    EXPECT_THAT(messages(tls.warnings),
                ElementsAre("t.yaml:4:9: kaa: port 1883 is the plain MQTT port but tls: is "
                            "configured; use 8883 or remove the tls: section",
                            "t.yaml:6:9: no meters configured"));
}

TEST(ConfigBuffer, BatchRange) {
    EXPECT_THAT(errors(kaa_with("buffer: {batch: 0}\n")),
                ElementsAre("t.yaml:4:17: buffer: batch must be between 1 and 10000, got 0"));
    EXPECT_THAT(errors(kaa_with("buffer: {batch: 10001}\n")),
                ElementsAre("t.yaml:4:17: buffer: batch must be between 1 and 10000, got 10001"));
}

TEST(ConfigBuffer, MaxSize) {
    EXPECT_THAT(errors(kaa_with("buffer: {max_size: 512KiB}\n")),
                ElementsAre("t.yaml:4:20: buffer: max_size must be at least 1MiB, got 512KiB"));
    EXPECT_THAT(errors(kaa_with("buffer: {max_size: 100}\n")),
                ElementsAre("t.yaml:4:20: buffer: max_size: expected a size like 64KiB, 256MiB, "
                            "1GiB, got '100'"));
}

TEST(ConfigBuffer, Overflow) {
    EXPECT_THAT(errors(kaa_with("buffer: {overflow: drop-all}\n")),
                ElementsAre("t.yaml:4:20: buffer: overflow must be one of drop-oldest, "
                            "drop-newest, got 'drop-all'"));
}

TEST(ConfigExamples, GatewayAndSimulatorExamplesLoadCleanly) {
    LoadResult gw = load_gateway_config(KAA_SOURCE_DIR "/config/examples/gateway.yaml");
    EXPECT_THAT(messages(gw.errors), IsEmpty());
    EXPECT_THAT(messages(gw.warnings), IsEmpty());
    ASSERT_TRUE(gw.config);
    EXPECT_EQ(gw.config->kaa.port, 18830);
    EXPECT_EQ(gw.config->buffer.path, "./.demo/buffer.db");
    LoadSimResult sim = load_sim_config(KAA_SOURCE_DIR "/config/examples/sim.yaml");
    EXPECT_THAT(messages(sim.errors), IsEmpty());
    ASSERT_TRUE(sim.config);
    // The README's commissioning walk-through: an SDM630 and a B23 on one port.
    LoadSimResult plant = load_sim_config(KAA_SOURCE_DIR "/config/examples/commissioning-sim.yaml");
    EXPECT_THAT(messages(plant.errors), IsEmpty());
    ASSERT_TRUE(plant.config);
    ASSERT_EQ(plant.config->servers.size(), 1u);
    EXPECT_EQ(plant.config->servers[0].units.size(), 2u);
}

}  // namespace
}  // namespace kaa::config

namespace kaa::config {
namespace {

std::string with_meter(const std::string& kaa_extra, const std::string& register_name) {
    return "kaa:\n  host: h\n  app_version: av\n" + kaa_extra +
           "buses:\n  - name: b\n    tcp: {host: 127.0.0.1, port: 502}\n"
           "meters:\n  - name: m1\n    token: t1\n    bus: b\n    unit: 1\n"
           "    poll_interval: 1s\n    registers:\n      - {name: " +
           register_name + ", address: 0}\n";
}

TEST(ConfigTimestamp, KeyAndFormatAreRead) {
    for (auto [word, format] : {std::pair{"millis", TimestampFormat::kMillis},
                                std::pair{"seconds", TimestampFormat::kSeconds},
                                std::pair{"iso8601", TimestampFormat::kIso8601}}) {
        LoadResult r = load_gateway_config_text(
            with_meter(std::string("  timestamp: {key: ts, format: ") + word + "}\n", "v"),
            "t.yaml");
        ASSERT_TRUE(r.config) << word;
        EXPECT_EQ(r.config->kaa.timestamp.key, "ts");
        EXPECT_EQ(r.config->kaa.timestamp.format, format);
    }
}

TEST(ConfigTimestamp, ARegisterNamedLikeTheKeyIsAnErrorAtItsName) {
    LoadResult r = load_gateway_config_text(
        with_meter("  timestamp: {key: ts, format: iso8601}\n", "ts"), "t.yaml");
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].to_string(),
              "t.yaml:15:16: meter 'm1' register 'ts': name 'ts' is the key that carries each "
              "sample's read time (kaa.timestamp.key); rename the register or the key");
    // With another key, "timestamp" is an ordinary register name.
    EXPECT_TRUE(
        load_gateway_config_text(with_meter("  timestamp: {key: ts}\n", "timestamp"), "t.yaml")
            .config);
}

TEST(ConfigTimestamp, BadKeysAndFormatsAreErrorsWithLineAndColumn) {
    LoadResult r = load_gateway_config_text(
        with_meter("  timestamp: {key: \"a.b\", format: ISO}\n", "v"), "t.yaml");
    ASSERT_EQ(r.errors.size(), 2u);
    EXPECT_EQ(r.errors[0].to_string(),
              "t.yaml:4:20: kaa.timestamp: key 'a.b' must be a sample key: letters, digits, '_' "
              "and '-', not purely numeric");
    EXPECT_EQ(r.errors[1].to_string(),
              "t.yaml:4:35: kaa.timestamp: format 'ISO' is not a timestamp format; use millis, "
              "seconds or iso8601");
    EXPECT_EQ(load_gateway_config_text(with_meter("  timestamp: {key: \"123\"}\n", "v"), "t.yaml")
                  .errors.size(),
              1u);
    EXPECT_EQ(load_gateway_config_text(with_meter("  timestamp: {kee: ts}\n", "v"), "t.yaml")
                  .errors.size(),
              1u);
}

TEST(ConfigBatchBytes, DefaultsTo256KiBAndIsBounded) {
    LoadResult d = load_gateway_config_text(with_meter("", "v"), "t.yaml");
    ASSERT_TRUE(d.config);
    EXPECT_EQ(d.config->buffer.batch_bytes, 256u * 1024);
    LoadResult r =
        load_gateway_config_text(with_meter("", "v") + "buffer: {batch_bytes: 16KiB}\n", "t.yaml");
    ASSERT_TRUE(r.config);
    EXPECT_EQ(r.config->buffer.batch_bytes, 16u * 1024);
    LoadResult small =
        load_gateway_config_text(with_meter("", "v") + "buffer: {batch_bytes: 1KiB}\n", "t.yaml");
    ASSERT_EQ(small.errors.size(), 1u);
    EXPECT_NE(small.errors[0].to_string().find("batch_bytes must be between 4KiB and 16MiB"),
              std::string::npos)
        << small.errors[0].to_string();
}

TEST(ConfigBounds, AliasesRepeatingLargePartsStopAtTheFilesNodeBudget) {
    // 600 meters, each the alias of a list of 600 registers: a 30 KB file, and 360,000
    // registers if every alias were read (1500 x 1500 took 78 s and 2.3 GB before).
    std::string yaml =
        "kaa: {host: h, app_version: av}\n"
        "buses: [{name: b, tcp: {host: 127.0.0.1}}]\n"
        "x: &regs [";
    for (int i = 0; i < 600; ++i)
        yaml += (i ? "," : "") + std::string("{name: r, address: 0}");
    yaml += "]\nmeters: [";
    for (int i = 0; i < 600; ++i)
        yaml +=
            (i ? "," : "") + std::string("{name: m, token: t, bus: b, unit: 1, registers: *regs}");
    yaml += "]\n";
    const LoadResult r = load(yaml);
    EXPECT_FALSE(r.config);
    const auto all = messages(r.errors);
    EXPECT_THAT(all, Contains(HasSubstr("the file expands to more than 200000 mappings, list "
                                        "items and values (YAML aliases repeating large parts "
                                        "of it?); the rest of it was not read")));
    // The errors stop at kMaxConfigErrors and a last line counts the rest.
    EXPECT_GT(r.errors.size(), kMaxConfigErrors);
    EXPECT_LE(r.errors.size(), kMaxConfigErrors + 2);
    EXPECT_THAT(all.back(), MatchesRegex("t\\.yaml: and [0-9]+ more errors \\(the first 200 "
                                         "are shown\\)"));
}

TEST(ConfigBounds, MetadataValuesShareTheFilesNodeBudget) {
    // Each key's value is 9^6 = 531441 values when expanded: over the file's budget.
    std::string yaml = kHead +
                       "  - name: m\n    token: t\n    bus: tcp1\n    unit: 1\n"
                       "    registers: [{name: r, address: 0}]\n    metadata:\n"
                       "      a0: &a0 [x, x, x, x, x, x, x, x, x]\n";
    for (int i = 1; i <= 6; ++i) {
        yaml += "      a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
        for (int j = 0; j < 9; ++j)
            yaml += (j ? ", " : "") + std::string("*a") + std::to_string(i - 1);
        yaml += "]\n";
    }
    const auto all = errors(yaml);
    EXPECT_THAT(all, Contains(HasSubstr("metadata 'a6' is nested too deeply or too large")));
    EXPECT_THAT(all, Contains(HasSubstr("the file expands to more than 200000")));
}

TEST(ConfigBounds, ARealisticLargeFileIsWellWithinTheBudget) {
    // 100 meters x 20 registers, with metadata: about 5,000 nodes.
    std::string yaml = kHead;
    for (int m = 0; m < 100; ++m) {
        yaml += "  - name: m" + std::to_string(m) + "\n    token: t" + std::to_string(m) +
                "\n    bus: tcp1\n    unit: " + std::to_string(m % 247 + 1) +
                "\n    metadata: {model: x, serial: " + std::to_string(m) + "}\n    registers:\n";
        for (int r = 0; r < 20; ++r)
            yaml += "      - {name: r" + std::to_string(r) + ", address: " + std::to_string(r * 2) +
                    ", type: uint32}\n";
    }
    const LoadResult r = load(yaml);
    EXPECT_THAT(messages(r.errors), IsEmpty());
    ASSERT_TRUE(r.config);
    EXPECT_EQ(r.config->meters.size(), 100u);
}

}  // namespace
}  // namespace kaa::config
