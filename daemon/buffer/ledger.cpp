// The sample stores' shared bookkeeping: lanes, cursors, released and in-flight samples.
#include "daemon/buffer/ledger.hpp"

#include <algorithm>
#include <limits>

namespace kaa {

Ledger::Ledger(size_t meters) : meters_(meters) {}

size_t Ledger::add_meter() {
    meters_.emplace_back();
    meters_.back().live.cursor = live_from_ - 1;
    return meters_.size() - 1;
}

void Ledger::restore(uint64_t next_id) {
    next_id_ = live_from_ = next_id;
    for (MeterState& m : meters_)
        m.live.cursor = live_from_ - 1;
}

void Ledger::set_backlog(size_t meter, uint64_t count) {
    if (meter < meters_.size())
        meters_[meter].backlog.pending = count;
}

uint64_t Ledger::add(size_t meter) {
    const uint64_t id = next_id_++;
    if (meter < meters_.size())
        ++lane_of(meter, id).pending;
    return id;
}

Ledger::LaneState& Ledger::lane_of(size_t meter, uint64_t id) {
    MeterState& m = meters_[meter];
    return id < live_from_ ? m.backlog : m.live;
}

std::vector<StoredSample> Ledger::take(size_t meter, size_t max, Lane which, RowSource& rows) {
    std::vector<StoredSample> out;
    if (meter >= meters_.size() || max == 0)
        return out;
    LaneState& lane = which == Lane::kLive ? meters_[meter].live : meters_[meter].backlog;
    const uint64_t run_id = next_run_++;
    Run run;
    // Released samples are older than anything past the cursor: they go first.
    take_released(meter, lane, max, rows, out, run, run_id);
    if (out.size() < max) {
        const uint64_t below = which == Lane::kLive
                                   ? static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
                                   : live_from_;
        take_new(meter, lane, below, max, rows, out, run, run_id);
    }
    if (out.empty())
        return out;
    run.first = out.front().id;
    run.last = out.back().id;
    run.count = run.outstanding = out.size();
    for (const StoredSample& s : out)
        run.bytes += s.record.size();
    runs_.emplace(run_id, run);
    return out;
}

void Ledger::take_released(size_t meter, LaneState& lane, size_t max, RowSource& rows,
                           std::vector<StoredSample>& out, Run& run, uint64_t run_id) {
    while (!lane.released.empty() && out.size() < max) {
        run.clean = false;  // rows between released ones may be anywhere
        const uint64_t id = *lane.released.begin();
        StoredSample sample;
        const RowSource::Found found = rows.read(meter, id, sample);
        if (found == RowSource::Found::kFailed)
            return;
        lane.released.erase(lane.released.begin());
        if (lane.pending > 0)
            --lane.pending;
        if (found == RowSource::Found::kGone)
            continue;  // vanished: nothing to send
        out.push_back(std::move(sample));
        mark_taken(out.back(), run_id);
    }
}

void Ledger::take_new(size_t meter, LaneState& lane, uint64_t below, size_t max, RowSource& rows,
                      std::vector<StoredSample>& out, Run& run, uint64_t run_id) {
    std::vector<StoredSample> read;
    while (out.size() < max) {
        // Ranges stepped over (delivered, not deleted yet): the cursor jumps to their end.
        uint64_t bound = below;
        if (const auto skipped = rows.next_skipped(meter, lane.cursor)) {
            if (skipped->first <= lane.cursor + 1) {
                lane.cursor = skipped->last;
                run.clean = false;  // a run never spans a range stepped over
                continue;
            }
            bound = std::min(bound, skipped->first);
        }
        const size_t want = max - out.size();
        read.clear();
        const bool ok = rows.read_after(meter, lane.cursor, bound, want, read);
        for (StoredSample& sample : read) {
            lane.cursor = sample.id;
            // Samples in flight are met again after start_live() rewinds a cursor.
            if (in_flight_.count(sample.id) > 0) {
                run.clean = false;
                continue;
            }
            if (lane.pending > 0)
                --lane.pending;
            out.push_back(std::move(sample));
            mark_taken(out.back(), run_id);
        }
        if (!ok)
            return;
        if (read.size() < want) {
            if (bound < below) {
                lane.cursor = bound - 1;  // nothing left before the next skipped range
                continue;
            }
            lane.pending = lane.released.size();  // nothing left past the cursor
            return;
        }
    }
}

void Ledger::mark_taken(const StoredSample& sample, uint64_t run_id) {
    in_flight_.emplace(sample.id, InFlight{sample.meter_index, sample.record.size(), run_id});
}

void Ledger::start_live() {
    // Nothing is lost by rewinding the backlog: every sample not in flight is past cursor 0,
    // and samples in flight are skipped when met. Released sets are covered by the rewind.
    for (MeterState& m : meters_) {
        m.backlog.pending += m.live.pending;
        m.backlog.cursor = 0;
        m.backlog.released.clear();
        m.live = LaneState{0, next_id_ - 1, {}};
    }
    live_from_ = next_id_;
}

void Ledger::drop_run(uint64_t run_id) {
    const auto it = runs_.find(run_id);
    if (it == runs_.end())
        return;
    if (it->second.outstanding > 0)
        --it->second.outstanding;
    if (it->second.outstanding == 0)
        runs_.erase(it);
}

void Ledger::release(const std::vector<uint64_t>& ids) {
    for (uint64_t id : ids) {
        const auto it = in_flight_.find(id);
        if (it == in_flight_.end())
            continue;
        LaneState& lane = lane_of(it->second.meter, id);
        // Past the cursor (a rewound backlog) the sample is simply met again by a take.
        if (id > lane.cursor || lane.released.insert(id).second)
            ++lane.pending;
        if (const auto run = runs_.find(it->second.run); run != runs_.end())
            run->second.clean = false;  // confirmed now only in part, if at all
        drop_run(it->second.run);
        in_flight_.erase(it);
    }
}

bool Ledger::forget(uint64_t id, size_t meter) {
    if (const auto it = in_flight_.find(id); it != in_flight_.end()) {
        drop_run(it->second.run);
        in_flight_.erase(it);
        return true;  // was in flight, so not counted as pending
    }
    if (meter >= meters_.size())
        return false;
    LaneState& lane = lane_of(meter, id);
    if ((lane.released.erase(id) > 0 || id > lane.cursor) && lane.pending > 0)
        --lane.pending;
    return false;
}

const Ledger::InFlight* Ledger::in_flight(uint64_t id) const {
    const auto it = in_flight_.find(id);
    return it == in_flight_.end() ? nullptr : &it->second;
}

const Ledger::Run* Ledger::run(uint64_t run_id) const {
    const auto it = runs_.find(run_id);
    return it == runs_.end() ? nullptr : &it->second;
}

uint64_t Ledger::pending(size_t meter, Lane lane) const {
    if (meter >= meters_.size())
        return 0;
    const MeterState& m = meters_[meter];
    return (lane == Lane::kLive ? m.live : m.backlog).pending;
}

}  // namespace kaa
