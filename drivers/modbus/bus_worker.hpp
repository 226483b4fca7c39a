#pragma once
// BusWorker: the one thread that owns a bus. It opens the transport (again, with
// backoff, when it breaks), polls its meters on schedule without ever overlapping
// requests, and hands samples and metadata to the sink.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
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
#include "drivers/modbus/meter_health.hpp"
#include "drivers/modbus/meter_jobs.hpp"
#include "drivers/modbus/meter_poller.hpp"
#include "drivers/modbus/meter_transport.hpp"
#include "drivers/modbus/poll_schedule.hpp"
#include "drivers/modbus/report_filter.hpp"

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
    /// Queues a job (thread-safe). Jobs run in the bus's idle time at once, and while polls
    /// are due at most one between two polls, so that commands never starve them. A job
    /// queued while the bus cannot be opened is answered with that error. False, with
    /// nothing queued, when kMaxQueuedJobs wait already or the meter is not on this bus.
    bool submit_job(MeterJob job);
    /// Jobs a bus keeps waiting at most.
    static constexpr size_t kMaxQueuedJobs = 64;
    /// Test hook: after its first poll the worker hangs without making progress, so the
    /// watchdog's reaction to a stalled worker can be tested end to end.
    void stall_after_first_poll_for_tests() { stall_for_tests_ = true; }
    const std::string& name() const { return bus_.name; }
    /// The bus and its meters as of the worker's last poll (thread-safe: a copy).
    BusHealth health() const;

  private:
    void run();
    bool wait_until(Clock::Monotonic when);
    /// Waits until `when`, a stop, or a job that may run now; false when stopping.
    bool idle_until(Clock::Monotonic when);
    /// True when a job may run now: one waits, and no poll is due or no job ran since the
    /// last poll (takes the lock).
    bool job_may_run(bool poll_due);
    /// Runs the next job; true when there was one.
    bool run_next_job(BusLine& line);
    /// The bus cannot be opened: every queued job is answered with `why`.
    void fail_queued_jobs(const std::string& why);
    bool ensure_open();
    void back_off_if_failing(size_t i);
    /// With close_after_poll: closes the link when no other meter is due now.
    void close_if_round_done();
    /// Copies meter `i`'s health (SIZE_MAX: none) and the bus's into what health() returns.
    void publish_health(size_t i, const BusLine* line);
    /// The link failed to open or was lost: `why` is shown as the bus's last error.
    void note_link_down(const std::string& why);

    const config::BusConfig& bus_;
    std::unique_ptr<MeterTransport> transport_;
    const Clock& clock_;
    SampleSink& sink_;
    std::vector<std::unique_ptr<MeterPoller>> pollers_;
    PollSchedule schedule_;
    std::vector<FailingMeterBackoff> failing_backoff_;  // per meter, parallel to pollers_
    std::vector<ReportFilter> report_filters_;          // per meter, parallel to pollers_
    Backoff reopen_backoff_;
    RateLimiter log_limiter_;
    std::thread thread_;
    std::mutex mutex_;
    std::condition_variable cv_;
    std::atomic<bool> stop_{false};
    std::atomic<uint64_t> progress_{0};
    std::atomic<size_t> failing_{0};
    std::deque<MeterJob> jobs_;        // guarded by mutex_
    bool job_ran_since_poll_ = false;  // worker thread only
    bool stall_for_tests_ = false;
    bool closed_after_poll_ = false;  // the link was closed on purpose, not lost
    bool opened_once_ = false;        // worker thread only
    mutable std::mutex health_mutex_;
    BusHealth health_;  // guarded by health_mutex_
};

}  // namespace kaa::modbus
