// Bisecting refused merged reads (see hole_finder.hpp).
#include "drivers/modbus/hole_finder.hpp"

#include <algorithm>

namespace kaa::modbus {

bool is_illegal_address(const Error& error) {
    return error.kind == ErrorKind::kModbusException && error.code == 2;
}

PlannedRead sub_read(const PlannedRead& read, size_t first, size_t last) {
    PlannedRead part;
    part.function = read.function;
    const uint16_t base = read.slots[first].offset;
    int end = 0;
    for (size_t s = first; s <= last; ++s) {
        const PlannedSlot& slot = read.slots[s];
        end = std::max(end, slot.offset + slot.count);
        part.slots.push_back(PlannedSlot{slot.register_index,
                                         static_cast<uint16_t>(slot.offset - base), slot.count});
    }
    part.address = static_cast<uint16_t>(read.address + base);
    part.count = static_cast<uint16_t>(end - base);
    return part;
}

namespace {

/// An answered piece: slots first..last of the searched read.
struct Piece {
    size_t first;
    size_t last;
    std::vector<uint16_t> words;
};

/// The search over one refused read.
class Search {
  public:
    Search(const PlannedRead& read, const ReadFunction& read_fn) : read_(read), read_fn_(read_fn) {}

    HoleSearch run() {
        split(0, read_.slots.size() - 1);
        for (Piece& p : pieces_)
            out_.answered.push_back({sub_read(read_, p.first, p.last), std::move(p.words)});
        std::sort(out_.cuts.begin(), out_.cuts.end());
        return std::move(out_);
    }

  private:
    /// Slots first..last (first < last) were refused together: bisect them.
    void split(size_t first, size_t last) {
        const size_t middle = first + (last - first) / 2;
        const bool left_whole = attempt(first, middle);
        if (out_.stopped_by)
            return;
        const size_t right_begin = pieces_.size();
        const bool right_whole = attempt(middle + 1, last);
        if (out_.stopped_by)
            return;
        if (left_whole && right_whole) {
            cut_before(middle + 1);
            return;
        }
        // Whether the middle itself is refused is not known yet: try the answered pieces on
        // either side of it together.
        const bool left_ends_here = right_begin > 0 && pieces_[right_begin - 1].last == middle;
        const bool right_starts_here =
            right_begin < pieces_.size() && pieces_[right_begin].first == middle + 1;
        if (!left_ends_here || !right_starts_here) {
            cut_before(middle + 1);  // a value beside the middle is refused alone
            return;
        }
        Piece& left = pieces_[right_begin - 1];
        const Piece& right = pieces_[right_begin];
        auto words = request(left.first, right.last);
        if (words.ok()) {
            left = Piece{left.first, right.last, std::move(words.value())};
            pieces_.erase(pieces_.begin() + static_cast<std::ptrdiff_t>(right_begin));
        } else if (is_illegal_address(words.error())) {
            cut_before(middle + 1);
        } else if (words.error().kind != ErrorKind::kModbusException) {
            out_.stopped_by = words.error();
        } else {
            cut_before(middle + 1);  // another refusal of the pair: keep them apart
        }
    }

    /// Reads slots first..last; true when they were answered in one request.
    bool attempt(size_t first, size_t last) {
        auto words = request(first, last);
        if (words.ok()) {
            pieces_.push_back(Piece{first, last, std::move(words.value())});
            return true;
        }
        const Error& err = words.error();
        if (err.kind != ErrorKind::kModbusException) {
            out_.stopped_by = err;
        } else if (is_illegal_address(err) && first < last) {
            split(first, last);
        } else {
            // Refused alone, or another exception (03, 04) for several values: not a hole;
            // they fail together, as they would unsplit.
            out_.refused.push_back({sub_read(read_, first, last), err});
        }
        return false;
    }

    Result<std::vector<uint16_t>> request(size_t first, size_t last) {
        ++out_.requests;
        return read_fn_(sub_read(read_, first, last));
    }

    void cut_before(size_t slot) {
        out_.cuts.push_back(ReadCut{
            read_.function, static_cast<uint16_t>(read_.address + read_.slots[slot].offset)});
    }

    const PlannedRead& read_;
    const ReadFunction& read_fn_;
    std::vector<Piece> pieces_;
    HoleSearch out_;
};

}  // namespace

HoleSearch find_holes(const PlannedRead& read, const ReadFunction& read_fn) {
    if (read.slots.size() < 2)
        return HoleSearch{};
    return Search(read, read_fn).run();
}

}  // namespace kaa::modbus
