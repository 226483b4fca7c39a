#pragma once
// MqttClient: the small MQTT interface the uplink needs. The concrete class over
// libmosquitto lives in mosquitto_client.*; tests substitute a fake.

#include <string>
#include <string_view>

#include "core/result.hpp"

namespace kaa::uplink {

/// Receives what happens on the MQTT connection. Called on the client's own thread:
/// implementations hand events over to the thread that owns the uplink.
class MqttListener {
  public:
    virtual ~MqttListener() = default;
    /// The broker accepted the connection (CONNACK 0).
    virtual void on_connected() = 0;
    /// The connection is gone (or never came up); the client keeps retrying by itself.
    virtual void on_disconnected(const std::string& reason) = 0;
    /// A message arrived on a subscribed topic. `payload` lives only for the call: copy
    /// what is kept (a platform may send megabytes; copying them all would double that).
    virtual void on_message(const std::string& topic, std::string_view payload) = 0;
    /// A publish left the client (QoS 0) or was acknowledged by the broker (QoS 1).
    virtual void on_published(int message_id) = 0;
};

/// One MQTT connection that reconnects by itself with backoff.
class MqttClient {
  public:
    virtual ~MqttClient() = default;
    /// Starts connecting in the background; events go to `listener` from then on.
    virtual Status start(MqttListener* listener) = 0;
    /// Queues a publish; returns its message id for on_published.
    virtual Result<int> publish(const std::string& topic, const std::string& payload, int qos) = 0;
    /// Subscribes to a topic filter on the current connection.
    virtual Status subscribe(const std::string& filter, int qos) = 0;
    /// Disconnects cleanly and stops the background thread.
    virtual void stop() = 0;
};

}  // namespace kaa::uplink
