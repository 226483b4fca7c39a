// The wall clock at boot and while running (core/clock_watch.hpp): readings wait until it
// is synchronised, those taken before are corrected by the step it made, and steps later
// are reported.
#include <spdlog/spdlog.h>

#include "core/clock_watch.hpp"
#include "daemon/gateway.hpp"
#include "daemon/kaa/uplink.hpp"
#include "daemon/system_clock_probe.hpp"

namespace kaa {
namespace {

constexpr const char* kClockLog = "clock";
/// How often the clock's synchronisation is looked at.
constexpr auto kClockCheckInterval = std::chrono::seconds(1);

const char* clock_state_name(ClockState state) {
    switch (state) {
        case ClockState::kWaiting:
            return "waiting";
        case ClockState::kUnsynced:
            return "unsynced";
        case ClockState::kSynced:
            break;
    }
    return "synced";
}

}  // namespace

void Gateway::start_clock_watch() {
    if (options_.clock_probe == nullptr) {
        own_clock_probe_ = std::make_unique<SystemClockProbe>();
        options_.clock_probe = own_clock_probe_.get();
    }
    clock_watch_ = std::make_unique<ClockWatch>(config_->clock.max_unsynced);
    next_clock_check_ = clock_.now();
    watch_clock();
    if (clock_watch_->holding()) {
        spdlog::warn(
            "{}: the system clock is not synchronised (no NTP sync yet); readings are kept "
            "and sent once it is, with their times corrected, or after clock.max_unsynced {} "
            "with the local time",
            kClockLog, config::format_duration(config_->clock.max_unsynced));
    }
}

void Gateway::watch_clock() {
    const auto now = clock_.now();
    if (now < next_clock_check_)
        return;
    next_clock_check_ = now + kClockCheckInterval;
    const int64_t wall = clock_.wall_ms();
    const ClockChange change =
        clock_watch_->observe(now, wall, options_.clock_probe->synchronised());
    switch (change.kind) {
        case ClockChange::Kind::kSynced: {
            // Everything appended so far was read before the step; what still waits in the
            // queue is corrected one by one as it arrives (Gateway::handle).
            const Status st = store_->shift_read_times(change.offset_ms);
            spdlog::info(
                "{}: the system clock is synchronised; it moved {} ms; the readings "
                "taken before {}",
                kClockLog, change.offset_ms,
                st ? "carry the corrected times"
                   : "could not be corrected in the buffer: " + st.error().message);
            break;
        }
        case ClockChange::Kind::kGaveUp:
            if (config_->clock.max_unsynced.count() <= 0) {
                spdlog::warn(
                    "{}: the system clock is not synchronised; clock.max_unsynced is 0s, "
                    "so readings go with the local time (corrected if it syncs later)",
                    kClockLog);
            } else {
                spdlog::error(
                    "{}: the system clock is still not synchronised after clock.max_unsynced "
                    "{}: sending readings with the local time, which may be wrong (is NTP "
                    "reachable? timedatectl timesync-status); the status shows it",
                    kClockLog, config::format_duration(config_->clock.max_unsynced));
            }
            break;
        case ClockChange::Kind::kStepped:
            spdlog::warn(
                "{}: the system clock jumped by {} ms; readings keep their read order "
                "(the times they carry jump with the clock)",
                kClockLog, change.offset_ms);
            break;
        case ClockChange::Kind::kNone:
            break;
    }
    uplink_->hold_samples(clock_watch_->holding());
}

nlohmann::json Gateway::clock_status() const {
    const auto since = clock_watch_->unsynced_since();
    const int64_t since_ms =
        since ? clock_.wall_ms() -
                    std::chrono::duration_cast<std::chrono::milliseconds>(clock_.now() - *since)
                        .count()
              : 0;
    return nlohmann::json{
        {"state", clock_state_name(clock_watch_->state())},
        {"unsynced_since_ms", since ? nlohmann::json(since_ms) : nlohmann::json(nullptr)},
        {"max_unsynced_ms", config_->clock.max_unsynced.count()},
        {"sync_offset_ms", clock_watch_->sync_offset_ms()},
        {"steps", clock_watch_->steps()}};
}

}  // namespace kaa
