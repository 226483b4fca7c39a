// The buses: list of the gateway configuration: one link each, its timing, and the keys
// for TCP-to-RTU converters.
#include <map>

#include "config/common_sections.hpp"
#include "config/meter_sections.hpp"

namespace kaa::config {
namespace {

constexpr Millis kRtuInterRequestDelay{20};
constexpr Millis kMaxPauseAfterConnect{10'000};

/// The keys for TCP-to-RTU converters: pause_after_connect and close_after_poll (TCP only:
/// on a serial line there is no connection to pause after or to close).
void read_converter_keys(const MapReader& r, BusConfig& bus) {
    for (const char* key : {"pause_after_connect", "close_after_poll"}) {
        if (r.has(key) && r.has("rtu")) {
            r.fail(key,
                   "is only for tcp buses (a TCP-to-RTU converter); a serial line has no "
                   "connection to pause after or to close");
        }
    }
    if (auto v = r.duration("pause_after_connect")) {
        if (*v > kMaxPauseAfterConnect) {
            r.fail("pause_after_connect",
                   "must be at most 10s, got " + r.get("pause_after_connect").Scalar());
        } else {
            bus.pause_after_connect = *v;
        }
    }
    if (auto v = r.boolean("close_after_poll")) {
        bus.close_after_poll = *v;
    }
}

}  // namespace

std::vector<BusConfig> read_buses(const MapReader& top) {
    std::vector<BusConfig> buses;
    auto items = top.list("buses");
    if (!items) {
        return buses;
    }
    std::map<std::string, int> name_lines;
    for (size_t i = 0; i < items->size(); ++i) {
        MapReader r(top.diag(), (*items)[i], item_label((*items)[i], "bus", "buses", i),
                    {"name", "rtu", "tcp", "timeout", "retries", "inter_request_delay",
                     "pause_after_connect", "close_after_poll"},
                    top.value_where("buses"));
        if (!r.is_map()) {
            continue;
        }
        BusConfig bus;
        bus.where = r.where();
        if (auto v = r.string("name", Need::kRequired)) {
            if (auto [it, inserted] = name_lines.emplace(*v, r.where().line); !inserted) {
                r.fail("name", "'" + *v + "' is already used by the bus at line " +
                                   std::to_string(it->second));
            }
            bus.name = *v;
        }
        if (auto link = read_link(r)) {
            bus.link = *link;
        }
        bus.inter_request_delay =
            std::holds_alternative<RtuLink>(bus.link) ? kRtuInterRequestDelay : Millis{0};
        if (auto v = r.duration("timeout")) {
            if (v->count() <= 0) {
                r.fail("timeout", "must be greater than 0");
            } else {
                bus.timeout = *v;
            }
        }
        if (auto v = r.integer("retries", 0, 10)) {
            bus.retries = static_cast<int>(*v);
        }
        if (auto v = r.duration("inter_request_delay")) {
            bus.inter_request_delay = *v;
        }
        read_converter_keys(r, bus);
        buses.push_back(std::move(bus));
    }
    return buses;
}

}  // namespace kaa::config
