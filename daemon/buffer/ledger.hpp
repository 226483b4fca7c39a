#pragma once
// Ledger: the bookkeeping both sample stores share, in memory and with no I/O. Per meter two
// lanes (live: appended since the last start_live(); backlog: everything older), each with a
// cursor (rows up to it were taken since the lane started), the released ids before the
// cursor and a count of pending (untaken) samples; the samples in flight and the take() each
// came from (a run). Where the rows themselves are is the store's business: take() reads
// them through a RowSource, so the ledger never holds more than the ids in flight.

#include <cstdint>
#include <optional>
#include <set>
#include <unordered_map>
#include <vector>

#include "daemon/buffer/sample_store.hpp"

namespace kaa {

/// Ids first..last of one meter.
struct IdRange {
    uint64_t first = 0;
    uint64_t last = 0;
};

/// A store's rows as the ledger's take() reads them.
class RowSource {
  public:
    /// What read() found.
    enum class Found { kRow, kGone, kFailed };
    virtual ~RowSource() = default;
    /// Reads sample `id` of `meter` into `out` (id and meter filled in).
    virtual Found read(size_t meter, uint64_t id, StoredSample& out) = 0;
    /// Appends up to `max` samples of `meter` with after < id < below to `out`, in id order;
    /// false when reading failed (what was appended before the failure stays).
    virtual bool read_after(size_t meter, uint64_t after, uint64_t below, size_t max,
                            std::vector<StoredSample>& out) = 0;
    /// The first range of the meter's ids ending past `after` that takes step over (rows
    /// kept but already delivered); none by default.
    virtual std::optional<IdRange> next_skipped(size_t meter, uint64_t after) const {
        (void)meter;
        (void)after;
        return std::nullopt;
    }
};

/// Lanes, cursors, released and in-flight samples of every meter, and the runs taken.
class Ledger {
  public:
    /// A sample in flight: its meter, payload bytes and the run (take()) it came from.
    struct InFlight {
        size_t meter = 0;
        uint64_t bytes = 0;
        uint64_t run = 0;
    };
    /// What one take() returned. Clean: first..last are all of the meter's rows in that id
    /// range that were not stepped over, so once all are confirmed the range is delivered.
    struct Run {
        uint64_t first = 0;
        uint64_t last = 0;
        size_t count = 0;
        uint64_t bytes = 0;
        size_t outstanding = 0;  // taken and not yet forgotten or released
        bool clean = true;
    };

    /// A ledger of `meters` meters with nothing stored.
    explicit Ledger(size_t meters);
    /// Adds a meter with empty lanes; returns its index.
    size_t add_meter();
    /// The number of meters.
    size_t meters() const { return meters_.size(); }
    /// At open: ids below `next_id` are stored already, so they are all backlog.
    void restore(uint64_t next_id);
    /// Sets the number of the meter's samples waiting in its backlog (stored before this run).
    void set_backlog(size_t meter, uint64_t count);
    /// The id the next added sample gets.
    uint64_t next_id() const { return next_id_; }
    /// Counts a stored sample of `meter` as pending in the live lane; returns its id.
    uint64_t add(size_t meter);
    /// Takes up to `max` of the meter's oldest untaken samples in `lane`, released ones
    /// first, reading them from `rows`, and marks them in flight as one run.
    std::vector<StoredSample> take(size_t meter, size_t max, Lane lane, RowSource& rows);
    /// Moves every pending sample to the backlog; samples added from now on are live.
    void start_live();
    /// Puts samples in flight back so the next take of their lane returns them first.
    void release(const std::vector<uint64_t>& ids);
    /// A stored sample of `meter` is gone (removed or dropped); true when it was in flight.
    bool forget(uint64_t id, size_t meter);
    /// The sample in flight with this id, or nullptr.
    const InFlight* in_flight(uint64_t id) const;
    /// How many samples are in flight.
    size_t in_flight_count() const { return in_flight_.size(); }
    /// The run with this id while any of its samples is in flight, or nullptr.
    const Run* run(uint64_t run_id) const;
    /// Untaken samples of the meter in `lane` (may count rows a take will find gone).
    uint64_t pending(size_t meter, Lane lane) const;
    /// True when the meter has untaken samples in `lane`.
    bool has_pending(size_t meter, Lane lane) const { return pending(meter, lane) > 0; }

  private:
    /// One lane of a meter; pending = released.size() + untaken rows of the lane past cursor.
    struct LaneState {
        uint64_t pending = 0;
        uint64_t cursor = 0;
        std::set<uint64_t> released;  // ids <= cursor put back by release()
    };
    /// A meter's two lanes.
    struct MeterState {
        LaneState live;
        LaneState backlog;
    };
    LaneState& lane_of(size_t meter, uint64_t id);
    void take_released(size_t meter, LaneState& lane, size_t max, RowSource& rows,
                       std::vector<StoredSample>& out, Run& run, uint64_t run_id);
    void take_new(size_t meter, LaneState& lane, uint64_t below, size_t max, RowSource& rows,
                  std::vector<StoredSample>& out, Run& run, uint64_t run_id);
    void mark_taken(const StoredSample& sample, uint64_t run_id);
    void drop_run(uint64_t run_id);

    std::vector<MeterState> meters_;
    std::unordered_map<uint64_t, InFlight> in_flight_;
    std::unordered_map<uint64_t, Run> runs_;  // by run id, while any of its rows is in flight
    uint64_t next_run_ = 1;
    uint64_t next_id_ = 1;
    uint64_t live_from_ = 1;  // first id of the live lane
};

}  // namespace kaa
