#pragma once
// ClockWatch: whether the wall clock can be trusted for read times, and what to do when it
// was wrong. A Raspberry Pi has no real-time clock: at boot fake-hwclock restores the time
// it saved last, and NTP steps it to the right time later. Until then readings are kept but
// not sent; when the clock is synchronised, the step it made is the offset that corrects
// every reading taken before (identified by its wall-minus-monotonic difference, so no
// boundary guess is needed); after clock.max_unsynced without a sync the gateway sends
// with the time it has and says so. A step while synchronised (NTP correcting a large
// error) is reported; samples keep their read order either way (the buffer orders by id).

#include <chrono>
#include <cstdint>
#include <optional>

#include "core/clock.hpp"

namespace kaa {

/// Tells whether the system clock is synchronised (NTP); nullopt when it cannot tell.
class ClockSyncProbe {
  public:
    virtual ~ClockSyncProbe() = default;
    virtual std::optional<bool> synchronised() = 0;
};

/// The state of the wall clock as the gateway sees it.
enum class ClockState {
    kSynced,    // synchronised (or the probe cannot tell: trusted as it is)
    kWaiting,   // not synchronised yet: readings are kept, not sent
    kUnsynced,  // not synchronised for clock.max_unsynced: sent with the local time
};

/// What one observation found.
struct ClockChange {
    enum class Kind {
        kNone,
        kSynced,   // synchronised after a start without sync: offset_ms corrects earlier reads
        kStepped,  // the wall clock jumped by offset_ms while synchronised
        kGaveUp,   // max_unsynced passed without a sync
    };
    Kind kind = Kind::kNone;
    int64_t offset_ms = 0;
};

/// Follows the wall clock against the monotonic one (see the file comment).
class ClockWatch {
  public:
    /// A jump of the wall clock against the monotonic one larger than this is a step.
    static constexpr int64_t kStepMs = 1000;

    /// `max_unsynced` 0 means: never wait for a sync.
    explicit ClockWatch(std::chrono::milliseconds max_unsynced) : max_unsynced_(max_unsynced) {}

    /// One look at the clocks and the probe's verdict (nullopt: it cannot tell).
    ClockChange observe(Clock::Monotonic mono, int64_t wall_ms, std::optional<bool> synced);
    ClockState state() const { return state_; }
    /// True while readings must wait for the clock (kWaiting).
    bool holding() const { return state_ == ClockState::kWaiting; }
    /// A reading's time corrected by the sync's offset when it was read before the sync
    /// (its wall-minus-monotonic difference is the unsynchronised one); else unchanged.
    int64_t restamp(int64_t read_ms, int64_t read_mono_ms) const;
    /// The offset applied at the sync (0 when none was needed).
    int64_t sync_offset_ms() const { return offset_ms_; }
    /// Steps seen while synchronised.
    uint64_t steps() const { return steps_; }
    /// When the clock was first seen unsynchronised (monotonic), if it was.
    std::optional<Clock::Monotonic> unsynced_since() const { return unsynced_since_; }

  private:
    std::chrono::milliseconds max_unsynced_;
    ClockState state_ = ClockState::kSynced;
    bool first_ = true;
    std::optional<Clock::Monotonic> unsynced_since_;
    int64_t last_difference_ = 0;  // wall - monotonic at the last observation
    // The correction, once synchronised after reads with the old difference.
    std::optional<int64_t> unsynced_difference_;
    int64_t offset_ms_ = 0;
    uint64_t steps_ = 0;
};

}  // namespace kaa
