// The per-meter table of learnt cuts.
#include "drivers/modbus/learned_cuts.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace kaa::modbus {

std::string LearnedCuts::key_of(const config::MeterConfig& meter) {
    return fmt::format("{}@{}/{}", meter.name, meter.bus, meter.unit);
}

std::vector<ReadCut> LearnedCuts::cuts_of(const std::string& key) const {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = table_.find(key);
    return it == table_.end() ? std::vector<ReadCut>{} : it->second;
}

bool LearnedCuts::add(const std::string& key, const std::vector<ReadCut>& cuts) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<ReadCut>& known = table_[key];
    bool changed = false;
    for (const ReadCut& cut : cuts) {
        if (std::find(known.begin(), known.end(), cut) == known.end()) {
            known.push_back(cut);
            changed = true;
        }
    }
    if (changed) {
        std::sort(known.begin(), known.end());
        ++generation_;
    }
    return changed;
}

void LearnedCuts::replace(Table table) {
    std::lock_guard<std::mutex> lock(mutex_);
    table_ = std::move(table);
    ++generation_;
}

LearnedCuts::Table LearnedCuts::snapshot(uint64_t* generation) const {
    std::lock_guard<std::mutex> lock(mutex_);
    if (generation)
        *generation = generation_;
    return table_;
}

uint64_t LearnedCuts::generation() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return generation_;
}

}  // namespace kaa::modbus
