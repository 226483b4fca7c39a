#pragma once
// FakeMeterTransport: a Modbus bus for unit tests, on simulated time. Every unit answers
// zeros after a short exchange, except the dead ones, which time out; opening can be made
// to fail a number of times. It records when each request and each open happened.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
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

    /// One write on the wire.
    struct Write {
        int unit;
        uint16_t address;
        std::vector<uint16_t> words;
        Clock::Monotonic at;
    };

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
    Result<std::vector<uint16_t>> read(int unit, config::RegisterFunction, uint16_t address,
                                       uint16_t count) override {
        bool dead = false;
        std::vector<uint16_t> words(count, 0);
        {
            std::lock_guard<std::mutex> lock(mutex_);
            requests_.push_back({unit, clock_.now()});
            dead = dead_.count(unit) > 0;
            for (uint16_t i = 0; i < count; ++i) {
                auto it = stored_.find({unit, address + i});
                if (it != stored_.end())
                    words[i] = it->second;
            }
        }
        clock_.advance(dead ? timeout_ : exchange_);
        if (dead)
            return make_error(ErrorKind::kTimeout, "no answer (fake)");
        return words;
    }
    /// Writes take an exchange; a dead unit's time out. Reads of written registers then
    /// give the words written.
    Status write(int unit, config::RegisterFunction, uint16_t address,
                 const std::vector<uint16_t>& values, bool) override {
        bool dead = false;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            writes_.push_back({unit, address, values, clock_.now()});
            dead = dead_.count(unit) > 0;
            if (!dead) {
                for (size_t i = 0; i < values.size(); ++i)
                    stored_[{unit, address + static_cast<int>(i)}] = values[i];
            }
        }
        clock_.advance(dead ? timeout_ : exchange_);
        if (dead)
            return make_error(ErrorKind::kTimeout, "no answer (fake)");
        return {};
    }
    std::string describe() const override { return "fake bus"; }
    /// A copy of the writes so far.
    std::vector<Write> writes() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return writes_;
    }

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
    std::vector<Write> writes_;
    std::map<std::pair<int, int>, uint16_t> stored_;  // (unit, address) -> word written
    std::vector<Clock::Monotonic> opens_;
};

}  // namespace kaa::fakes
