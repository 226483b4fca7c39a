// BusWorker in simulated time: an hour of polls on a bus with a dead meter, and a bus that
// will not open, each running in milliseconds on a FakeClock and a fake transport.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "drivers/modbus/bus_worker.hpp"
#include "tests/fakes/fake_clock.hpp"
#include "tests/fakes/fake_meter_transport.hpp"

namespace kaa::modbus {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr auto kExchange = milliseconds(10);
constexpr auto kTimeout = milliseconds(200);

/// Counts what the worker hands over.
class CountingSink final : public SampleSink {
  public:
    void submit_sample(Sample) override { ++samples; }
    void submit_metadata(MetadataUpdate) override {}
    std::atomic<int> samples{0};
};

config::MeterConfig meter(const std::string& name, int unit, milliseconds interval) {
    config::MeterConfig m;
    m.name = name;
    m.token = "tok-" + name;
    m.bus = "bus-1";
    m.unit = unit;
    m.poll_interval = interval;
    config::RegisterConfig r;
    r.name = "energy";
    m.registers = {r};
    return m;
}

config::GatewayConfig bus_with(std::vector<config::MeterConfig> meters) {
    config::GatewayConfig c;
    config::BusConfig bus;
    bus.name = "bus-1";
    bus.link = config::TcpLink{"fake", 502};
    bus.timeout = kTimeout;
    bus.retries = 0;  // one request per poll: the transport's log is the poll log
    c.buses = {bus};
    c.meters = std::move(meters);
    return c;
}

/// Runs `worker` until the simulated clock reaches `end` (or 10 s of real time pass: a
/// worker that stopped moving the clock fails the test instead of hanging it), then stops it.
/// A bus busy all the time may end one exchange past `end`: `slack` allows for it.
void run_until(BusWorker& worker, fakes::FakeClock& clock, Clock::Monotonic end,
               milliseconds slack = milliseconds(0)) {
    clock.set_horizon(end);
    worker.start();
    EXPECT_TRUE(clock.wait_parked(std::chrono::seconds(10)))
        << "simulated time stalled before the end of the run";
    worker.stop();
    EXPECT_GE(clock.now(), end);
    EXPECT_LE(clock.now(), end + slack);
}

/// Start times of the requests to `unit` before `end`.
std::vector<Clock::Monotonic> polls_of(const fakes::FakeMeterTransport& transport, int unit,
                                       Clock::Monotonic end) {
    std::vector<Clock::Monotonic> out;
    for (const auto& r : transport.requests()) {
        if (r.unit == unit && r.at < end)
            out.push_back(r.at);
    }
    return out;
}

milliseconds longest_gap(const std::vector<Clock::Monotonic>& polls) {
    milliseconds longest{0};
    for (size_t k = 1; k < polls.size(); ++k)
        longest =
            std::max(longest, std::chrono::duration_cast<milliseconds>(polls[k] - polls[k - 1]));
    return longest;
}

TEST(BusWorkerTest, AnHourWithADeadMeterLiveOnesKeepTheirPollsTheDeadOneBacksOff) {
    fakes::FakeClock clock;
    auto transport = std::make_unique<fakes::FakeMeterTransport>(clock, kExchange, kTimeout);
    transport->kill(3);
    fakes::FakeMeterTransport& wire = *transport;
    const auto config = bus_with({meter("fast", 1, seconds(1)), meter("slow", 2, seconds(10)),
                                  meter("dead", 3, seconds(1))});
    CountingSink sink;
    BusWorker worker(config, 0, {0, 1, 2}, std::move(transport), clock, sink, /*seed=*/42);
    const auto start = clock.now();
    const auto end = start + std::chrono::hours(1);
    run_until(worker, clock, end);

    // Live meters: every due time of the hour gets its poll, never a whole interval late
    // (at worst behind one timeout of the dead meter and one exchange of the other).
    const auto fast = polls_of(wire, 1, end);
    const auto slow = polls_of(wire, 2, end);
    EXPECT_EQ(fast.size(), 3600u);
    EXPECT_EQ(slow.size(), 360u);
    const auto slack = kTimeout + 2 * kExchange;
    EXPECT_LE(longest_gap(fast), seconds(1) + slack);
    EXPECT_LE(longest_gap(slow), seconds(10) + slack);

    // The dead meter: its interval for the first failures, then gaps that stay within the
    // backoff's bounds: at least the interval after the timeout, at most a ceiling doubling
    // from twice the interval (third failure) to 60 s.
    const auto dead = polls_of(wire, 3, end);
    ASSERT_GE(dead.size(), 4u);
    for (size_t k = 1; k < dead.size(); ++k) {
        const int failures = static_cast<int>(k);  // after the k-th poll
        const auto gap = std::chrono::duration_cast<milliseconds>(dead[k] - dead[k - 1]);
        if (failures < kFailuresBeforeBackoff) {
            EXPECT_LE(gap, seconds(1) + slack) << "poll " << k;
            continue;
        }
        const int64_t ceiling_ms = std::min<int64_t>(60000, 1000LL << std::min(failures - 2, 20));
        EXPECT_GE(gap, seconds(1) + kTimeout) << "poll " << k;
        EXPECT_LE(gap, milliseconds(ceiling_ms) + slack) << "poll " << k;
    }
    // Polled less and less: far fewer than its 3600 polls, and no fewer than one a minute.
    EXPECT_GE(dead.size(), 3600u / 61);
    EXPECT_LE(dead.size(), 300u);
    // In the second half hour the backoff is at its ceiling: a poll every 30 s or so on
    // average, surely fewer than one per 10 s.
    const auto half = start + std::chrono::minutes(30);
    const auto late = std::count_if(dead.begin(), dead.end(), [&](auto t) { return t >= half; });
    EXPECT_LE(late, 180);
    EXPECT_EQ(worker.failing_meters(), 1u);
    EXPECT_GE(sink.samples.load(), 3960);
}

TEST(BusWorkerTest, ABusThatWillNotOpenIsRetriedWithinTheReopenBackoff) {
    fakes::FakeClock clock;
    auto transport = std::make_unique<fakes::FakeMeterTransport>(clock, kExchange, kTimeout);
    transport->fail_opens(12);
    fakes::FakeMeterTransport& wire = *transport;
    const auto config = bus_with({meter("fast", 1, seconds(1))});
    CountingSink sink;
    BusWorker worker(config, 0, {0}, std::move(transport), clock, sink, /*seed=*/7);
    const auto end = clock.now() + std::chrono::minutes(10);
    run_until(worker, clock, end);

    // Delay n (from 0) lies in [500 ms, min(30 s, 500 ms * 2^n)].
    const auto opens = wire.opens();
    ASSERT_EQ(opens.size(), 13u);  // twelve failures, then it opened and stayed open
    for (size_t n = 0; n + 1 < opens.size(); ++n) {
        const auto gap = std::chrono::duration_cast<milliseconds>(opens[n + 1] - opens[n]);
        const int64_t ceiling_ms = std::min<int64_t>(30000, 500LL << n);
        EXPECT_GE(gap.count(), 500) << "attempt " << n;
        EXPECT_LE(gap.count(), ceiling_ms) << "attempt " << n;
    }
    // Once open, the meter is polled from then on at its interval.
    const auto fast = polls_of(wire, 1, end);
    ASSERT_FALSE(fast.empty());
    EXPECT_GE(fast.front(), opens.back());
    // (The schedule counts the late first poll as a skipped cycle and polls once more at
    // once, PollSchedule::completed: at most one poll above one per interval.)
    const auto open_for = std::chrono::duration_cast<milliseconds>(end - fast.front()).count();
    EXPECT_GE(static_cast<int64_t>(fast.size()), (open_for + 999) / 1000);
    EXPECT_LE(static_cast<int64_t>(fast.size()), (open_for + 999) / 1000 + 1);
    EXPECT_LE(longest_gap(fast), seconds(1) + kExchange);
}

TEST(BusWorkerTest, AConverterBusPausesAfterConnectingAndClosesAfterEachRound) {
    fakes::FakeClock clock;
    auto transport = std::make_unique<fakes::FakeMeterTransport>(clock, kExchange, kTimeout);
    fakes::FakeMeterTransport& wire = *transport;
    auto config = bus_with({meter("a", 2, seconds(1)), meter("b", 7, seconds(1))});
    config.buses[0].pause_after_connect = milliseconds(300);
    config.buses[0].close_after_poll = true;
    CountingSink sink;
    BusWorker worker(config, 0, {0, 1}, std::move(transport), clock, sink, /*seed=*/3);
    const auto end = clock.now() + std::chrono::minutes(10);
    run_until(worker, clock, end);

    // One connection per round, opened when the round is due (every whole second), both
    // meters polled on it, the first request 300 ms after the connect; each meter keeps
    // its one poll a second.
    const auto opens = wire.opens();
    const auto requests = wire.requests();
    for (size_t n = 0; n < opens.size(); ++n)
        EXPECT_EQ(opens[n], opens[0] + seconds(n)) << "round " << n;
    // Rounds at 0 s, 1 s, ... 599 s (the one due at 600 s is where the run ends).
    EXPECT_EQ(opens.size(), 600u);
    for (size_t n = 0; n < opens.size(); ++n) {
        const auto next = n + 1 < opens.size() ? opens[n + 1] : end;
        std::vector<int> units;
        for (const auto& r : requests) {
            if (r.at >= opens[n] && r.at < next) {
                units.push_back(r.unit);
                EXPECT_GE(r.at, opens[n] + milliseconds(300)) << "round " << n;
            }
        }
        if (next < end) {
            EXPECT_EQ(units, (std::vector<int>{2, 7})) << "round " << n;
        }
    }
    for (int unit : {2, 7}) {
        const auto polls = polls_of(wire, unit, end);
        EXPECT_GE(polls.size(), 599u);
        EXPECT_LE(longest_gap(polls), seconds(1) + kExchange);
    }
}

TEST(BusWorkerTest, APauseAfterConnectAloneKeepsOneConnection) {
    fakes::FakeClock clock;
    auto transport = std::make_unique<fakes::FakeMeterTransport>(clock, kExchange, kTimeout);
    fakes::FakeMeterTransport& wire = *transport;
    auto config = bus_with({meter("a", 2, seconds(1)), meter("b", 7, seconds(1))});
    config.buses[0].pause_after_connect = milliseconds(500);
    CountingSink sink;
    BusWorker worker(config, 0, {0, 1}, std::move(transport), clock, sink, /*seed=*/3);
    const auto start = clock.now();
    const auto end = start + std::chrono::minutes(1);
    run_until(worker, clock, end);

    ASSERT_EQ(wire.opens().size(), 1u);
    const auto first = polls_of(wire, 2, end);
    ASSERT_FALSE(first.empty());
    EXPECT_EQ(first.front(), start + milliseconds(500));
    EXPECT_GE(polls_of(wire, 7, end).size(), 59u);
}

/// Queues `count` jobs writing 100 + k to holding register 40 of meter 0.
void queue_writes(BusWorker& worker, int count, std::vector<MeterJobResult>& results,
                  std::atomic<int>& done) {
    results.resize(static_cast<size_t>(count));
    for (int k = 0; k < count; ++k) {
        MeterJob job;
        job.meter_index = 0;
        job.writes = {WriteRequest{
            config::RegisterFunction::kHolding, 40, {static_cast<uint16_t>(100 + k)}, false}};
        job.done = [&results, &done, k](MeterJobResult r) {
            results[static_cast<size_t>(k)] = std::move(r);
            ++done;
        };
        ASSERT_TRUE(worker.submit_job(std::move(job)));
    }
}

void expect_written_and_read_back(const std::vector<MeterJobResult>& results) {
    for (size_t k = 0; k < results.size(); ++k) {
        ASSERT_EQ(results[k].writes.size(), 1u);
        const WriteResult& r = results[k].writes[0];
        EXPECT_TRUE(r.status.ok()) << k;
        EXPECT_TRUE(r.before.ok()) << k;
        ASSERT_TRUE(r.read_back.ok()) << k;
        EXPECT_EQ(r.read_back.value(), std::vector<uint16_t>{static_cast<uint16_t>(100 + k)});
    }
}

TEST(BusWorkerTest, JobsUseTheBusesIdleTimeAndAreReadBack) {
    fakes::FakeClock clock;
    auto transport = std::make_unique<fakes::FakeMeterTransport>(clock, kExchange, kTimeout);
    fakes::FakeMeterTransport& wire = *transport;
    const auto config = bus_with({meter("target", 1, seconds(1)), meter("other", 2, seconds(1))});
    CountingSink sink;
    BusWorker worker(config, 0, {0, 1}, std::move(transport), clock, sink, /*seed=*/5);
    std::atomic<int> done{0};
    std::vector<MeterJobResult> results;
    queue_writes(worker, 20, results, done);
    MeterJob stranger;
    stranger.meter_index = 7;  // not a meter of this bus
    EXPECT_FALSE(worker.submit_job(std::move(stranger)));

    // The bus is idle most of the time: the 20 jobs (3 exchanges each) are done within the
    // first second, and both meters keep their poll a second.
    run_until(worker, clock, clock.now() + seconds(30));
    EXPECT_EQ(done.load(), 20);
    expect_written_and_read_back(results);
    const auto writes = wire.writes();
    ASSERT_EQ(writes.size(), 20u);
    EXPECT_LT(writes.back().at - writes.front().at, seconds(1));
    EXPECT_GE(sink.samples.load(), 59);
}

TEST(BusWorkerTest, WhilePollsAreDueAtMostOneJobRunsBetweenTwoPolls) {
    fakes::FakeClock clock;
    auto transport = std::make_unique<fakes::FakeMeterTransport>(clock, kExchange, kTimeout);
    fakes::FakeMeterTransport& wire = *transport;
    // Polled every 10 ms with 10 ms exchanges: a poll is always due.
    const auto config =
        bus_with({meter("target", 1, milliseconds(10)), meter("other", 2, milliseconds(10))});
    CountingSink sink;
    BusWorker worker(config, 0, {0, 1}, std::move(transport), clock, sink, /*seed=*/5);
    std::atomic<int> done{0};
    std::vector<MeterJobResult> results;
    queue_writes(worker, 20, results, done);
    run_until(worker, clock, clock.now() + seconds(5), kExchange);
    EXPECT_EQ(done.load(), 20);
    expect_written_and_read_back(results);
    const auto writes = wire.writes();
    ASSERT_EQ(writes.size(), 20u);
    const auto requests = wire.requests();
    for (size_t w = 1; w < writes.size(); ++w) {
        // After a job's read-back (which starts as its write ends) and before the next
        // job's write: that job's read-before, and at least one poll.
        const auto reads_between =
            std::count_if(requests.begin(), requests.end(), [&](const auto& r) {
                return r.at > writes[w - 1].at + kExchange && r.at < writes[w].at;
            });
        EXPECT_GE(reads_between, 2) << "write " << w;
    }
}

TEST(BusWorkerTest, AJobForABusThatCannotOpenIsAnsweredWithTheReason) {
    fakes::FakeClock clock;
    auto transport = std::make_unique<fakes::FakeMeterTransport>(clock, kExchange, kTimeout);
    transport->fail_opens(1000);
    const auto config = bus_with({meter("target", 1, seconds(1))});
    CountingSink sink;
    BusWorker worker(config, 0, {0}, std::move(transport), clock, sink, /*seed=*/5);
    std::atomic<int> done{0};
    std::vector<MeterJobResult> results;
    queue_writes(worker, 2, results, done);
    run_until(worker, clock, clock.now() + seconds(5));
    EXPECT_EQ(done.load(), 2);
    for (const MeterJobResult& r : results) {
        ASSERT_FALSE(r.status.ok());
        EXPECT_EQ(r.status.error().kind, ErrorKind::kNotConnected);
        EXPECT_NE(r.status.error().message.find("cannot be opened"), std::string::npos);
        ASSERT_EQ(r.writes.size(), 1u);
        EXPECT_FALSE(r.writes[0].status.ok());
    }
}

}  // namespace
}  // namespace kaa::modbus
