// One thread per bus: open, schedule, poll, hand over.
#include "drivers/modbus/bus_worker.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace kaa::modbus {
namespace {

// The component named in log lines, under a name of its own: with KAA_UNITY_BUILD this
// file shares one translation unit with the rest of its library.
constexpr const char* kWorkerLog = "modbus";

std::vector<std::chrono::milliseconds> intervals_of(const config::GatewayConfig& config,
                                                    const std::vector<size_t>& meters) {
    std::vector<std::chrono::milliseconds> out;
    for (size_t m : meters)
        out.push_back(config.meters[m].poll_interval);
    return out;
}

}  // namespace

BusWorker::BusWorker(const config::GatewayConfig& config, size_t bus_index,
                     std::vector<size_t> meters, std::unique_ptr<MeterTransport> transport,
                     const Clock& clock, SampleSink& sink, uint64_t seed, LearnedCuts* learned)
    : bus_(config.buses[bus_index]),
      transport_(std::move(transport)),
      clock_(clock),
      sink_(sink),
      schedule_(intervals_of(config, meters), clock.now()),
      reopen_backoff_(std::chrono::milliseconds(500), std::chrono::seconds(30), seed),
      log_limiter_(clock, std::chrono::minutes(1)) {
    pollers_.reserve(meters.size());
    failing_backoff_.reserve(meters.size());
    for (size_t m : meters) {
        pollers_.push_back(
            std::make_unique<MeterPoller>(m, config.meters[m], bus_.name, clock, learned));
        failing_backoff_.emplace_back(config.meters[m].poll_interval,
                                      seed + 1 + failing_backoff_.size());
        report_filters_.emplace_back(config.meters[m]);
    }
    for (const auto& p : pollers_)
        health_.meters.push_back(p->health());
}

BusWorker::~BusWorker() {
    stop();
}

void BusWorker::start() {
    thread_ = std::thread([this] { run(); });
}

void BusWorker::stop() {
    stop_ = true;
    cv_.notify_all();
    if (thread_.joinable())
        thread_.join();
}

bool BusWorker::wait_until(Clock::Monotonic when) {
    std::unique_lock<std::mutex> lock(mutex_);
    return !clock_.wait_until(lock, cv_, when, [this] { return stop_.load(); });
}

bool BusWorker::idle_until(Clock::Monotonic when) {
    std::unique_lock<std::mutex> lock(mutex_);
    // Waiting means no poll is due yet: any queued job may use the time.
    clock_.wait_until(lock, cv_, when, [this] { return stop_.load() || !jobs_.empty(); });
    return !stop_.load();
}

bool BusWorker::job_may_run(bool poll_due) {
    std::lock_guard<std::mutex> lock(mutex_);
    return !jobs_.empty() && (!poll_due || !job_ran_since_poll_);
}

bool BusWorker::submit_job(MeterJob job) {
    const bool ours = std::any_of(pollers_.begin(), pollers_.end(), [&](const auto& p) {
        return p->meter_index() == job.meter_index;
    });
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!ours || jobs_.size() >= kMaxQueuedJobs)
            return false;
        jobs_.push_back(std::move(job));
    }
    cv_.notify_all();
    return true;
}

bool BusWorker::run_next_job(BusLine& line) {
    MeterJob job;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (jobs_.empty())
            return false;
        job = std::move(jobs_.front());
        jobs_.pop_front();
    }
    job_ran_since_poll_ = true;
    MeterPoller* poller = nullptr;
    for (const auto& p : pollers_) {
        if (p->meter_index() == job.meter_index)
            poller = p.get();
    }
    MeterJobResult result = run_meter_job(line, *poller, job);
    const bool link_lost = !result.status.ok() && result.status.error().kind == ErrorKind::kIo;
    if (job.done)
        job.done(std::move(result));
    {
        std::lock_guard lock(health_mutex_);
        ++health_.jobs_run;
        health_.busy_us = line.busy_us();
    }
    if (link_lost) {
        spdlog::warn("{}: bus {} lost its link ({}); reopening", kWorkerLog, bus_.name,
                     transport_->describe());
        transport_->close();
        note_link_down(fmt::format("lost its link ({})", transport_->describe()));
    }
    return true;
}

void BusWorker::fail_queued_jobs(const std::string& why) {
    std::deque<MeterJob> failed;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        failed.swap(jobs_);
    }
    for (MeterJob& job : failed) {
        if (job.done)
            job.done(failed_job(job, make_error(ErrorKind::kNotConnected, why)));
    }
}

bool BusWorker::ensure_open() {
    if (transport_->is_open())
        return true;
    auto st = transport_->open();
    if (st) {
        if (closed_after_poll_) {
            // The worker closed it itself (close_after_poll): the meters were not lost, so
            // their metadata need not be read again, and the journal needs no line a round.
            spdlog::debug("{}: bus {} open again ({})", kWorkerLog, bus_.name,
                          transport_->describe());
        } else {
            spdlog::info("{}: bus {} open ({})", kWorkerLog, bus_.name, transport_->describe());
            for (auto& p : pollers_)
                p->request_metadata();
        }
        {
            std::lock_guard lock(health_mutex_);
            if (opened_once_ && !closed_after_poll_)
                ++health_.reopens;
            health_.state = BusState::kOpen;
        }
        opened_once_ = true;
        closed_after_poll_ = false;
        reopen_backoff_.reset();
        log_limiter_.reset("open");
        // A TCP-to-RTU converter may drop or garble the first request sent right after the
        // connection is accepted: give it its pause (stopping cuts the pause short).
        if (bus_.pause_after_connect.count() > 0)
            return wait_until(clock_.now() + bus_.pause_after_connect);
        return true;
    }
    note_link_down(st.error().message);
    fail_queued_jobs(fmt::format("bus {} cannot be opened: {}", bus_.name, st.error().message));
    int suppressed = 0;
    if (log_limiter_.allow("open", suppressed)) {
        spdlog::error("{}: bus {}: {}; its meters are not polled until it opens (retrying{})",
                      kWorkerLog, bus_.name, st.error().message,
                      suppressed > 0 ? fmt::format(", {} attempts so far", suppressed + 1) : "");
    }
    wait_until(clock_.now() + reopen_backoff_.next_delay());
    return false;
}

// Every poll moves the meter's backoff (a success resets it); from kFailuresBeforeBackoff
// failures in a row on, its next poll waits the backoff's delay instead of the interval.
void BusWorker::back_off_if_failing(size_t i) {
    const int failures = pollers_[i]->consecutive_failures();
    const auto delay = failing_backoff_[i].delay(failures);
    if (failures >= kFailuresBeforeBackoff) {
        schedule_.defer(i, clock_.now() + delay);
        pollers_[i]->note_backoff(clock_.wall_ms() + delay.count());
    }
}

void BusWorker::close_if_round_done() {
    if (!bus_.close_after_poll || !transport_->is_open())
        return;
    if (schedule_.due(schedule_.next()) <= clock_.now())
        return;  // another meter is due now: same round, same connection
    transport_->close();
    closed_after_poll_ = true;
    std::lock_guard lock(health_mutex_);
    health_.state = BusState::kClosed;
}

void BusWorker::note_link_down(const std::string& why) {
    const int64_t now = clock_.wall_ms();
    std::lock_guard lock(health_mutex_);
    health_.state = BusState::kDown;
    health_.last_error = why;
    health_.last_error_ms = now;
    // Its meters give nothing until the bus opens: they show as failing for that reason
    // (their next poll, once the bus is open, says how they really are).
    for (MeterHealth& m : health_.meters) {
        if (m.state != MeterState::kFailing) {
            m.state = MeterState::kFailing;
            m.failing_since_ms = now;
        }
        m.last_error = fmt::format("bus {}: {}", bus_.name, why);
    }
}

void BusWorker::publish_health(size_t i, const BusLine* line) {
    std::lock_guard lock(health_mutex_);
    if (i < pollers_.size())
        health_.meters[i] = pollers_[i]->health();
    if (line != nullptr)
        health_.busy_us = line->busy_us();
}

BusHealth BusWorker::health() const {
    std::lock_guard lock(health_mutex_);
    return health_;
}

void BusWorker::run() {
    BusLine line(bus_, *transport_, clock_,
                 [this](Clock::Monotonic when) { return wait_until(when); });
    while (!stop_) {
        ++progress_;
        if (pollers_.empty()) {
            wait_until(clock_.now() + std::chrono::seconds(1));
            continue;
        }
        // A link closed after the last round (close_after_poll) is opened again only when
        // the next meter is due; any other closed link at once, so its failure shows early.
        const bool open_when_due = closed_after_poll_;
        if (!open_when_due && !ensure_open())
            continue;
        // A queued job goes first: in idle time at once, else one between two polls.
        const size_t i = schedule_.next();
        if (job_may_run(schedule_.due(i) <= clock_.now()) && ensure_open() && run_next_job(line))
            continue;
        // Wake at least four times a second so progress() shows the worker is alive.
        const auto due = schedule_.due(i);
        const auto heartbeat = clock_.now() + std::chrono::milliseconds(250);
        if (due > heartbeat) {
            idle_until(heartbeat);
            continue;
        }
        if (!idle_until(due))
            break;
        if (clock_.now() < due)
            continue;  // woken early for a job
        if (open_when_due && !ensure_open())
            continue;

        MeterPoller& poller = *pollers_[i];
        if (poller.metadata_due()) {
            if (auto update = poller.read_metadata(line))
                sink_.submit_metadata(std::move(*update));
        }
        PollOutcome outcome = poller.poll(line);
        if (outcome.stopped)
            break;
        job_ran_since_poll_ = false;
        // The reporting rules (report: on_change) may leave nothing to send this poll.
        if (outcome.sample && report_filters_[i].apply(*outcome.sample))
            sink_.submit_sample(std::move(*outcome.sample));
        schedule_.completed(i, clock_.now());
        back_off_if_failing(i);
        publish_health(i, &line);
        size_t failing = 0;
        for (const auto& p : pollers_)
            failing += p->consecutive_failures() > 0 ? 1 : 0;
        failing_ = failing;
        if (stall_for_tests_) {
            spdlog::warn("{}: bus {} stalls on purpose (test hook)", kWorkerLog, bus_.name);
            while (wait_until(clock_.now() + std::chrono::hours(1))) {
            }
            break;
        }
        if (outcome.link_broken) {
            spdlog::warn("{}: bus {} lost its link ({}); reopening", kWorkerLog, bus_.name,
                         transport_->describe());
            transport_->close();
            note_link_down(fmt::format("lost its link ({})", transport_->describe()));
        } else {
            close_if_round_done();
        }
    }
    transport_->close();
    fail_queued_jobs(fmt::format("bus {} stopped", bus_.name));
}

}  // namespace kaa::modbus
