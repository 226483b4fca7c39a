#pragma once
// HoleyMeter: a fake transport for a meter that refuses (exception 02) every read that
// covers an address it does not have, as an Eastron SDM630 does; counts its requests.

#include <algorithm>
#include <set>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "drivers/modbus/meter_transport.hpp"

namespace kaa::fakes {

/// Answers reads of existing addresses with the address as the value, refuses the rest.
class HoleyMeter final : public modbus::MeterTransport {
  public:
    /// The meter has the words of `registers` and nothing else.
    explicit HoleyMeter(const std::vector<config::RegisterConfig>& registers) {
        for (const auto& r : registers) {
            const int n = config::is_bit_function(r.function)
                              ? 1
                              : std::max(1, config::register_count(r.type, r.length));
            for (int i = 0; i < n; ++i)
                present_.insert({r.function, r.address + i});
        }
    }
    Status open() override {
        open_ = true;
        return {};
    }
    void close() override { open_ = false; }
    bool is_open() const override { return open_; }
    Result<std::vector<uint16_t>> read(int, config::RegisterFunction f, uint16_t address,
                                       uint16_t count) override {
        ++requests;
        std::vector<uint16_t> out;
        for (int a = address; a < address + count; ++a) {
            if (!present_.count({f, a})) {
                ++refusals;
                return make_error(ErrorKind::kModbusException,
                                  "Modbus exception 2 (illegal data address)", 2);
            }
            out.push_back(static_cast<uint16_t>(a));
        }
        return out;
    }
    std::string describe() const override { return "holey meter"; }

    int requests = 0;  // every read, answered or not
    int refusals = 0;  // reads answered with exception 02

  private:
    std::set<std::pair<config::RegisterFunction, int>> present_;
    bool open_ = false;
};

}  // namespace kaa::fakes
