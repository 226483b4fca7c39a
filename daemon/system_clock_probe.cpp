// The machine's clock synchronisation: timesyncd's flag file, else adjtimex(2) read only.
#include "daemon/system_clock_probe.hpp"

#include <sys/timex.h>
#include <unistd.h>

namespace kaa {
namespace {

/// systemd-timesyncd creates it once the clock is synchronised (systemd 239 and later).
constexpr const char* kTimesyncFlag = "/run/systemd/timesync/synchronized";

}  // namespace

std::optional<bool> SystemClockProbe::synchronised() {
    if (access(kTimesyncFlag, F_OK) == 0)
        return true;
    struct timex tx {};  // modes 0: only reads; setting needs CAP_SYS_TIME, which we lack
    const int state = adjtimex(&tx);
    if (state == -1)
        return std::nullopt;
    return state != TIME_ERROR && (tx.status & STA_UNSYNC) == 0;
}

std::optional<bool> FlagFileClockProbe::synchronised() {
    return access(path_.c_str(), F_OK) == 0;
}

}  // namespace kaa
