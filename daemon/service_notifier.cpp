// sd_notify over libsystemd, when the build has it.
#include "daemon/service_notifier.hpp"

#include <ctime>

#ifdef KAA_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace kaa {

void ServiceNotifier::send(const std::string& message) {
#ifdef KAA_HAVE_SYSTEMD
    sd_notify(0, message.c_str());
#else
    (void)message;
#endif
}

void ServiceNotifier::ready() {
    send("READY=1");
}

void ServiceNotifier::status(const std::string& text) {
    if (text == last_status_)
        return;
    last_status_ = text;
    send("STATUS=" + text);
}

void ServiceNotifier::watchdog() {
    send("WATCHDOG=1");
}

void ServiceNotifier::reloading() {
    // MONOTONIC_USEC lets systemd tell this reload from an older one (sd_notify(3),
    // Type=notify-reload in systemd.service(5)); older systemd versions ignore it.
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    const auto usec = static_cast<unsigned long long>(now.tv_sec) * 1000000ull +
                      static_cast<unsigned long long>(now.tv_nsec) / 1000ull;
    send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

void ServiceNotifier::stopping() {
    send("STOPPING=1");
}

std::optional<std::chrono::microseconds> ServiceNotifier::watchdog_interval() const {
#ifdef KAA_HAVE_SYSTEMD
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
        return std::chrono::microseconds(usec / 2);
    }
#endif
    return std::nullopt;
}

}  // namespace kaa
