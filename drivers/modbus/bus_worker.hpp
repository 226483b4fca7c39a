#pragma once
// BusWorker: the one thread that owns a bus. It opens the transport (again, with
// backoff, when it breaks), polls its meters on schedule without ever overlapping
// requests, and hands samples and metadata to the sink.

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "core/backoff.hpp"
#include "core/clock.hpp"
#include "core/rate_limiter.hpp"
#include "core/sample_sink.hpp"
#include "drivers/modbus/meter_poller.hpp"
#include "drivers/modbus/meter_transport.hpp"
#include "drivers/modbus/poll_schedule.hpp"

namespace kaa::modbus {

/// Owns one bus and polls the meters on it.
class BusWorker {
  public:
    /// `meters` are indices into config.meters of the meters on this bus; `seed` drives the
    /// jitter of the reopen and failing-meter backoffs (tests fix it); `learned` (may be
    /// null) holds where meters refuse merged reads, shared with the gateway.
    BusWorker(const config::GatewayConfig& config, size_t bus_index, std::vector<size_t> meters,
              std::unique_ptr<MeterTransport> transport, const Clock& clock, SampleSink& sink,
              uint64_t seed = std::random_device{}(), LearnedCuts* learned = nullptr);
    ~BusWorker();

    /// Starts the worker thread.
    void start();
    /// Asks the thread to stop and waits for it (it finishes the request on the wire).
    void stop();
    /// Increases on every turn of the worker's loop; a stalled value means a hung worker.
    uint64_t progress() const { return progress_.load(); }
    /// Meters on this bus whose last poll produced nothing.
    size_t failing_meters() const { return failing_.load(); }
    /// Meters on this bus.
    size_t meter_count() const { return pollers_.size(); }
    /// Test hook: after its first poll the worker hangs without making progress, so the
    /// watchdog's reaction to a stalled worker can be tested end to end.
    void stall_after_first_poll_for_tests() { stall_for_tests_ = true; }
    const std::string& name() const { return bus_.name; }

  private:
    void run();
    bool wait_until(Clock::Monotonic when);
    bool ensure_open();
    void back_off_if_failing(size_t i);
    /// With close_after_poll: closes the link when no other meter is due now.
    void close_if_round_done();

    const config::BusConfig& bus_;
    std::unique_ptr<MeterTransport> transport_;
    const Clock& clock_;
    SampleSink& sink_;
    std::vector<std::unique_ptr<MeterPoller>> pollers_;
    PollSchedule schedule_;
    std::vector<FailingMeterBackoff> failing_backoff_;  // per meter, parallel to pollers_
    Backoff reopen_backoff_;
    RateLimiter log_limiter_;
    std::thread thread_;
    std::mutex mutex_;
    std::condition_variable cv_;
    std::atomic<bool> stop_{false};
    std::atomic<uint64_t> progress_{0};
    std::atomic<size_t> failing_{0};
    bool stall_for_tests_ = false;
    bool closed_after_poll_ = false;  // the link was closed on purpose, not lost
};

}  // namespace kaa::modbus
