// The signal thread of the daemon.
#include "daemon/signal_route.hpp"

#include <pthread.h>

#include <csignal>

namespace kaa {

SignalRoute::SignalRoute(std::function<void(int)> deliver) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    thread_ = std::thread([set, deliver = std::move(deliver)] {
        while (true) {
            int number = 0;
            if (sigwait(&set, &number) != 0)
                continue;
            deliver(number);
            if (number != SIGHUP)
                return;
        }
    });
}

SignalRoute::~SignalRoute() {
    // A thread that has ended but is not joined yet may still be signalled: the SIGTERM is
    // then dropped with it. One still in sigwait takes it, delivers it and ends.
    pthread_kill(thread_.native_handle(), SIGTERM);
    thread_.join();
}

}  // namespace kaa
