#pragma once
// SignalRoute: the thread that turns SIGTERM, SIGINT and SIGHUP into calls (the daemon's:
// events on the gateway's queue). It is joined when the route goes, before what it calls
// into: a thread left running (detached) could still be inside the event queue's notify
// while the queue is destroyed at exit.

#include <functional>
#include <thread>

namespace kaa {

/// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread (and the threads it starts
/// later) and runs a thread that hands each to `deliver` until a stop signal.
class SignalRoute {
  public:
    /// What `deliver` reaches must outlive the route (declare the route after it).
    explicit SignalRoute(std::function<void(int)> deliver);
    /// Wakes the thread if it still waits (the program ends for another reason: it is
    /// then handed a SIGTERM) and joins it.
    ~SignalRoute();
    SignalRoute(const SignalRoute&) = delete;
    SignalRoute& operator=(const SignalRoute&) = delete;

  private:
    std::thread thread_;
};

}  // namespace kaa
