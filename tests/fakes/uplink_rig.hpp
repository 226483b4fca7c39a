#pragma once
// UplinkRig: an uplink wired to a fake clock, a fake MQTT client and the in-memory store,
// with the two meters the delivery tests use (heat: tok-heat, water: tok-water).

#include <memory>
#include <utility>
#include <vector>

#include "daemon/buffer/memory_sample_store.hpp"
#include "daemon/kaa/uplink.hpp"
#include "tests/fakes/fake_clock.hpp"
#include "tests/fakes/fake_mqtt.hpp"

namespace kaa::fakes {

/// The parts around an Uplink under test; `make` builds the uplink with given settings.
struct UplinkRig {
    /// (Re)creates the uplink with `s` over this rig's clock, MQTT client and store.
    void make(uplink::UplinkSettings s) {
        uplink = std::make_unique<uplink::Uplink>(
            std::move(s),
            std::vector<uplink::Endpoint>{{"heat", "tok-heat"}, {"water", "tok-water"}}, mqtt,
            store, clock);
    }

    FakeClock clock;
    FakeMqtt mqtt;
    MemorySampleStore store{2, 1 << 20, config::Overflow::kDropOldest};
    std::unique_ptr<uplink::Uplink> uplink;
};

}  // namespace kaa::fakes
