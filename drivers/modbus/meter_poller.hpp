#pragma once
// MeterPoller: reads one meter through a bus's transport following its request plan,
// decodes the values, and reports what failed by register name. Keeps the meter's
// health (online / failing) and logs only when it changes.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/clock.hpp"
#include "core/rate_limiter.hpp"
#include "core/sample.hpp"
#include "drivers/modbus/learned_cuts.hpp"
#include "drivers/modbus/meter_health.hpp"
#include "drivers/modbus/meter_transport.hpp"
#include "drivers/modbus/request_planner.hpp"
#include "drivers/modbus/write_plan.hpp"

namespace kaa::modbus {

/// Paces requests on one bus: inter-request silence, retries after timeouts and bad frames.
class BusLine {
  public:
    /// `wait_until` sleeps until a time point and returns false when the worker must stop.
    BusLine(const config::BusConfig& bus, MeterTransport& transport, const Clock& clock,
            std::function<bool(Clock::Monotonic)> wait_until);
    /// One read with the bus's retries; never starts before the inter-request delay passed.
    Result<std::vector<uint16_t>> read(int unit, const PlannedRead& read);
    /// One write, paced and retried like a read (writing a register twice is harmless).
    Status write(int unit, const WriteRequest& request);
    MeterTransport& transport() { return transport_; }
    /// Counts every attempt from now on into `counts` (the meter being talked to); null
    /// stops counting.
    void count_into(TransactionCounts* counts) { counts_ = counts; }
    /// Time spent in transactions since the line was made, in microseconds.
    uint64_t busy_us() const { return busy_us_; }

  private:
    /// Runs `attempt` with the bus's pacing and retries after timeouts and bad frames.
    template <typename Attempt>
    auto paced(Attempt attempt) -> decltype(attempt());

    const config::BusConfig& bus_;
    MeterTransport& transport_;
    const Clock& clock_;
    std::function<bool(Clock::Monotonic)> wait_until_;
    std::optional<Clock::Monotonic> last_request_end_;
    TransactionCounts* counts_ = nullptr;
    uint64_t busy_us_ = 0;
};

/// What one poll of a meter produced.
struct PollOutcome {
    std::optional<Sample> sample;  // absent when no register could be read
    bool link_broken = false;      // the transport failed (kIo): close and reopen the bus
    bool stopped = false;          // the worker is stopping
};

/// Polls one meter and tracks its health.
class MeterPoller {
  public:
    /// `learned` (may be null) holds the cuts known for meters and receives new ones.
    MeterPoller(size_t meter_index, const config::MeterConfig& meter, const std::string& bus_name,
                const Clock& clock, LearnedCuts* learned = nullptr);

    /// Reads every planned request and builds the typed sample: one reading per register,
    /// in register order, with the quality kReadFailed where the meter did not give it.
    /// A timeout skips the meter's remaining requests this round; an exception skips only
    /// the registers of that request, which are named in the log.
    PollOutcome poll(BusLine& line);
    /// What read_now() read.
    struct DirectRead {
        std::vector<Reading> readings;  // one per register asked for, in order
        std::vector<std::string> problems;
        Status status;  // not ok when the meter stopped answering (timeout, link)
    };
    /// Reads `registers` of the meter now (a Kaa `read` command), planned like a poll.
    DirectRead read_now(BusLine& line, const std::vector<config::RegisterConfig>& registers);
    /// Reads the metadata registers; nullopt when any failed (tried again next poll).
    std::optional<MetadataUpdate> read_metadata(BusLine& line);
    /// True when the metadata registers need reading: at start, after reopening the bus,
    /// after the meter came back, and every metadata_interval (a change is sent, nothing
    /// else: the uplink sends only keys whose value changed).
    bool metadata_due() const {
        return metadata_due_ || (!metadata_plan_.empty() && clock_.now() >= next_metadata_);
    }
    void request_metadata() { metadata_due_ = !metadata_plan_.empty(); }
    const config::MeterConfig& config() const { return meter_; }
    /// The meter's index in the configuration's meters.
    size_t meter_index() const { return index_; }
    /// The reads one poll makes now (after any splitting the meter forced).
    const std::vector<PlannedRead>& plan() const { return plan_; }
    /// The places this meter refuses merged reads, as far as known.
    const std::vector<ReadCut>& cuts() const { return cuts_; }
    /// Consecutive polls that produced nothing.
    int consecutive_failures() const { return consecutive_failures_; }
    /// The meter's health, counts and last good values, for the status.
    const MeterHealth& health() const { return health_; }
    /// The worker defers the next poll of this failing meter to `until_ms` (wall clock).
    void note_backoff(int64_t until_ms) { health_.backoff_until_ms = until_ms; }

  private:
    struct ReadValues {
        std::vector<Reading> readings;  // one per register, in register order
        size_t good = 0;                // readings with quality kGood
        std::vector<std::string> problems;
        bool link_broken = false;
        bool stopped = false;
        bool timed_out = false;
    };
    ReadValues read_all(BusLine& line, std::vector<PlannedRead>& plan,
                        const std::vector<config::RegisterConfig>& registers);
    /// Bisects a merged read the meter refused (exception 02); decodes what it read, names
    /// what stays refused, learns the cuts. False when the poll must end (timeout, link).
    bool search_holes(BusLine& line, const PlannedRead& read,
                      const std::vector<config::RegisterConfig>& registers,
                      std::vector<std::optional<Value>>& decoded, ReadValues& out);
    /// Plans the reads of `registers` around the known cuts.
    std::vector<PlannedRead> plan_for(const std::vector<config::RegisterConfig>& registers) const;
    void note_success(const std::vector<std::string>& problems);
    void note_failure(const std::string& reason);

    size_t index_;
    const config::MeterConfig& meter_;
    std::string bus_name_;
    std::vector<PlannedRead> plan_;
    std::vector<PlannedRead> metadata_plan_;
    LearnedCuts* learned_;
    std::string learned_key_;
    std::vector<ReadCut> cuts_;
    bool metadata_due_ = false;
    Clock::Monotonic next_metadata_{};  // the next periodic read of the metadata registers
    bool failing_ = false;
    int consecutive_failures_ = 0;
    MeterHealth health_;
    RateLimiter log_limiter_;
    const Clock& clock_;
};

}  // namespace kaa::modbus
