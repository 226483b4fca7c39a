#pragma once
// Telling a plain MQTT port from a TLS one, to turn "connection lost" or "TLS error" into
// a hint when kaa.tls does not match the broker's port (1883 plain vs 8883 TLS).

#include <chrono>
#include <string>

namespace kaa::uplink {

/// What a port answered to a plain MQTT CONNECT.
enum class PortAnswer {
    kPlainMqtt,     // a CONNACK: an MQTT broker without TLS
    kTlsOrSilent,   // a TLS record, or closed without a byte: TLS (or not MQTT at all)
    kNoConnection,  // nothing listens, or it did not answer in time
};

/// Connects to host:port, sends an MQTT 3.1.1 CONNECT and reads the first bytes of the
/// answer, waiting at most `timeout` in all. Blocks the calling thread.
PortAnswer probe_port(const std::string& host, int port, std::chrono::milliseconds timeout);

/// The hint for a failed connection given what the port answered, or "" when the answer
/// fits the configuration (tls: whether kaa.tls is set).
std::string port_hint(const std::string& host, int port, bool tls, PortAnswer answer);

}  // namespace kaa::uplink
