#pragma once
// LearnedCuts: the places each meter refuses merged reads, learnt by its bus worker and
// kept by the gateway across reloads and (in a file beside the buffer) restarts, so that a
// meter's plan is learnt once.

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "drivers/modbus/request_planner.hpp"

namespace kaa::modbus {

/// The cuts per meter, shared by the bus workers and the gateway (thread-safe).
class LearnedCuts {
  public:
    using Table = std::map<std::string, std::vector<ReadCut>>;

    /// The key of a meter: a cut belongs to the device at that unit on that bus.
    static std::string key_of(const config::MeterConfig& meter);
    /// The cuts learnt for the meter with `key` (none when unknown).
    std::vector<ReadCut> cuts_of(const std::string& key) const;
    /// Adds cuts for a meter; returns true when any was new.
    bool add(const std::string& key, const std::vector<ReadCut>& cuts);
    /// Replaces everything (what the file held at start).
    void replace(Table table);
    /// A copy of everything, and the generation it is (increases with every change).
    Table snapshot(uint64_t* generation = nullptr) const;
    /// Increases with every change.
    uint64_t generation() const;

  private:
    mutable std::mutex mutex_;
    Table table_;
    uint64_t generation_ = 0;
};

}  // namespace kaa::modbus
