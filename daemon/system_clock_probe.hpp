#pragma once
// SystemClockProbe: whether this machine's clock is synchronised, from systemd-timesyncd's
// flag file or the kernel's NTP state (adjtimex, read only).

#include <optional>
#include <string>

#include "core/clock_watch.hpp"

namespace kaa {

/// The real machine's clock synchronisation state.
class SystemClockProbe final : public ClockSyncProbe {
  public:
    /// True when timesyncd says so or the kernel's STA_UNSYNC is clear; false when the
    /// kernel says unsynchronised; nullopt when neither can be asked (a seccomp filter
    /// refusing adjtimex and no timesyncd).
    std::optional<bool> synchronised() override;
};

/// Synchronised exactly while a file exists: the integration tests' stand-in for NTP
/// (KAA_TEST_CLOCK_SYNC_FILE), which cannot set a test machine's clock.
class FlagFileClockProbe final : public ClockSyncProbe {
  public:
    explicit FlagFileClockProbe(std::string path) : path_(std::move(path)) {}
    std::optional<bool> synchronised() override;

  private:
    std::string path_;
};

}  // namespace kaa
