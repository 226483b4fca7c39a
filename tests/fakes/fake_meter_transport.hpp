#pragma once
// FakeMeterTransport: a Modbus bus for unit tests, on simulated time. Every unit answers
// zeros after a short exchange, except the dead ones, which time out; opening can be made
// to fail a number of times. It records when each request and each open happened.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <set>
#include <vector>

#include "drivers/modbus/meter_transport.hpp"
#include "tests/fakes/fake_clock.hpp"

namespace kaa::fakes {

/// A bus whose meters answer at once (or never), advancing a FakeClock as a wire would.
class FakeMeterTransport final : public modbus::MeterTransport {
  public:
    /// One request on the wire: which unit, and when it started.
    struct Request {
        int unit;
        Clock::Monotonic at;
    };

    /// Requests take `exchange` on the wire; a dead unit's take `timeout`.
    FakeMeterTransport(FakeClock& clock, std::chrono::milliseconds exchange,
                       std::chrono::milliseconds timeout)
        : clock_(clock), exchange_(exchange), timeout_(timeout) {}

    /// Unit `unit` never answers (every request times out).
    void kill(int unit) {
        std::lock_guard<std::mutex> lock(mutex_);
        dead_.insert(unit);
    }
    /// The next `count` open() calls fail.
    void fail_opens(int count) {
        std::lock_guard<std::mutex> lock(mutex_);
        failing_opens_ = count;
    }

    Status open() override {
        std::lock_guard<std::mutex> lock(mutex_);
        opens_.push_back(clock_.now());
        if (failing_opens_ > 0) {
            --failing_opens_;
            return make_error(ErrorKind::kIo, "no such device (fake)");
        }
        open_ = true;
        return {};
    }
    void close() override { open_ = false; }
    bool is_open() const override { return open_; }
    Result<std::vector<uint16_t>> read(int unit, config::RegisterFunction, uint16_t,
                                       uint16_t count) override {
        bool dead = false;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            requests_.push_back({unit, clock_.now()});
            dead = dead_.count(unit) > 0;
        }
        clock_.advance(dead ? timeout_ : exchange_);
        if (dead)
            return make_error(ErrorKind::kTimeout, "no answer (fake)");
        return std::vector<uint16_t>(count, 0);
    }
    std::string describe() const override { return "fake bus"; }

    /// A copy of the requests so far (safe while the worker runs).
    std::vector<Request> requests() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return requests_;
    }
    /// When each open() was attempted.
    std::vector<Clock::Monotonic> opens() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return opens_;
    }

  private:
    FakeClock& clock_;
    const std::chrono::milliseconds exchange_;
    const std::chrono::milliseconds timeout_;
    mutable std::mutex mutex_;
    std::set<int> dead_;
    int failing_opens_ = 0;
    std::atomic<bool> open_{false};
    std::vector<Request> requests_;
    std::vector<Clock::Monotonic> opens_;
};

}  // namespace kaa::fakes
