#pragma once
// FakeMqtt: an MQTT client for unit tests that records what is published and subscribed;
// publishing fails while it is "down".

#include <string>
#include <vector>

#include "daemon/kaa/mqtt_client.hpp"

namespace kaa::fakes {

/// Records what the uplink publishes; publishing fails while not up.
class FakeMqtt final : public uplink::MqttClient {
  public:
    /// One recorded publish.
    struct Publish {
        std::string topic;
        std::string payload;
        int qos;
        int mid;
    };
    Status start(uplink::MqttListener*) override { return {}; }
    Result<int> publish(const std::string& topic, const std::string& payload, int qos) override {
        if (!up)
            return make_error(ErrorKind::kNotConnected, "not connected");
        published.push_back({topic, payload, qos, ++last_mid});
        return last_mid;
    }
    Status subscribe(const std::string& filter, int) override {
        subscriptions.push_back(filter);
        return {};
    }
    void stop() override {}

    bool up = true;
    int last_mid = 0;
    std::vector<Publish> published;
    std::vector<std::string> subscriptions;
};

}  // namespace kaa::fakes
