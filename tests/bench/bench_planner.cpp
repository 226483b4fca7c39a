// bench_planner: requests per poll and bus time per poll of real meters' register maps at
// their configured baud rate, for kaa-gateway's request plan next to a naive plan (one
// request per register) and the minimal possible count.
//
// Run: bench_planner [gateway.yaml ...]   (default: tests/bench/meter_maps/*.yaml)
//
// The minimal count covers a meter's registers with the fewest reads of at most 125
// registers (2000 bits) without reading an address the meter refuses: for a meter
// configured with max_gap 0 every unconfigured address between its registers is such a
// hole; otherwise gaps are taken as readable.

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "config/config_loader.hpp"
#include "drivers/modbus/bus_budget.hpp"
#include "drivers/modbus/learned_cuts.hpp"
#include "drivers/modbus/meter_poller.hpp"
#include "drivers/modbus/request_planner.hpp"
#include "tests/fakes/fake_clock.hpp"
#include "tests/fakes/holey_meter.hpp"

namespace {

using kaa::config::GatewayConfig;
using kaa::config::MeterConfig;
using kaa::config::RegisterConfig;
using kaa::modbus::PlannedRead;

/// One read per configured register.
std::vector<PlannedRead> naive_plan(const std::vector<RegisterConfig>& regs) {
    std::vector<PlannedRead> reads;
    for (const auto& r : regs) {
        PlannedRead read;
        read.function = r.function;
        read.address = static_cast<uint16_t>(r.address);
        read.count = static_cast<uint16_t>(kaa::config::register_count(r.type, r.length));
        reads.push_back(read);
    }
    return reads;
}

/// The fewest reads: per function, sorted by address, greedily extended while the read
/// stays within the protocol limit and (when holes are refused) touches no unused address.
std::vector<PlannedRead> minimal_plan(const std::vector<RegisterConfig>& regs, bool holes_refused) {
    std::map<kaa::config::RegisterFunction, std::vector<std::pair<int, int>>> spans;
    for (const auto& r : regs) {
        const int count = kaa::config::register_count(r.type, r.length);
        spans[r.function].push_back({r.address, r.address + count - 1});
    }
    std::vector<PlannedRead> reads;
    for (auto& [function, list] : spans) {
        std::sort(list.begin(), list.end());
        const int limit = kaa::config::is_bit_function(function) ? 2000 : 125;
        size_t i = 0;
        while (i < list.size()) {
            const int first = list[i].first;
            int last = list[i].second;
            size_t j = i + 1;
            while (j < list.size() && list[j].second - first + 1 <= limit &&
                   (!holes_refused || list[j].first <= last + 1)) {
                last = std::max(last, list[j].second);
                ++j;
            }
            PlannedRead read;
            read.function = function;
            read.address = static_cast<uint16_t>(first);
            read.count = static_cast<uint16_t>(last - first + 1);
            reads.push_back(read);
            i = j;
        }
    }
    return reads;
}

/// What learning costs on a meter that refuses reads across holes, left at the default
/// max_gap: polls until one is answered without a refusal, and the requests they made.
struct Learning {
    int polls = 0;
    int requests = 0;
    int refusals = 0;
    size_t plan_after = 0;
    int requests_after = 0;  // the requests of the poll after learning
};

Learning learn_holes(MeterConfig meter, const kaa::config::BusConfig& bus) {
    meter.max_gap = kaa::modbus::PlanLimits{}.max_gap;
    kaa::fakes::FakeClock clock;
    kaa::fakes::HoleyMeter device(meter.registers);
    kaa::modbus::LearnedCuts learned;
    kaa::modbus::MeterPoller poller(0, meter, bus.name, clock, &learned);
    kaa::modbus::BusLine line(bus, device, clock, [](kaa::Clock::Monotonic) { return true; });
    Learning out;
    while (out.polls <= 100) {
        const int refused_before = device.refusals;
        const int requested_before = device.requests;
        poller.poll(line);
        if (device.refusals == refused_before) {  // learnt: this poll was refused nothing
            out.requests_after = device.requests - requested_before;
            break;
        }
        ++out.polls;
        out.requests = device.requests;
        out.refusals = device.refusals;
    }
    out.plan_after = poller.plan().size();
    return out;
}

double ms(std::chrono::microseconds us) {
    return static_cast<double>(us.count()) / 1000.0;
}

std::vector<std::string> default_maps() {
    std::vector<std::string> files;
    const std::filesystem::path dir =
        std::filesystem::path(KAA_SOURCE_DIR) / "tests/bench/meter_maps";
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        if (entry.path().extension() == ".yaml")
            files.push_back(entry.path().string());
    }
    std::sort(files.begin(), files.end());
    return files;
}

}  // namespace

/// Prints the table for every meter of every given configuration file.
int main(int argc, char** argv) {
    std::vector<std::string> files(argv + 1, argv + argc);
    if (files.empty())
        files = default_maps();
    std::printf("%-10s %5s %7s | %-22s | %-28s | %9s %9s\n", "meter", "regs", "max_gap",
                "requests naive/ours/min", "bus ms/poll naive/ours/min", "naive/our", "our/min");
    for (const auto& file : files) {
        const auto loaded = kaa::config::load_gateway_config(file);
        if (!loaded.config) {
            for (const auto& e : loaded.errors)
                std::fprintf(stderr, "%s\n", e.to_string().c_str());
            return 78;
        }
        const GatewayConfig& config = *loaded.config;
        for (const MeterConfig& meter : config.meters) {
            const auto bus = std::find_if(config.buses.begin(), config.buses.end(),
                                          [&](const auto& b) { return b.name == meter.bus; });
            kaa::modbus::PlanLimits limits;
            limits.max_gap = meter.max_gap;
            limits.max_registers = meter.max_registers;
            const auto ours = kaa::modbus::plan_reads(meter.registers, limits);
            const auto naive = naive_plan(meter.registers);
            const auto minimal = minimal_plan(meter.registers, meter.max_gap == 0);
            const auto t_ours = kaa::modbus::estimate_reads_time(ours, *bus);
            const auto t_naive = kaa::modbus::estimate_reads_time(naive, *bus);
            const auto t_min = kaa::modbus::estimate_reads_time(minimal, *bus);
            std::printf(
                "%-10s %5zu %7d | %6zu / %4zu / %4zu     | %8.1f / %6.1f / %6.1f   | %8.1fx "
                "%8.2fx\n",
                meter.name.c_str(), meter.registers.size(), meter.max_gap, naive.size(),
                ours.size(), minimal.size(), ms(t_naive), ms(t_ours), ms(t_min),
                ms(t_naive) / ms(t_ours), ms(t_ours) / ms(t_min));
            if (meter.max_gap == 0) {
                // The same meter left at the default max_gap: the merged reads it refuses are
                // bisected once, and the plan learnt reaches the minimal count.
                const Learning l = learn_holes(meter, *bus);
                std::printf(
                    "%-10s %5zu %7d | learnt in %d poll(s) (%d requests, %d refused): then %d "
                    "requests per poll, minimal %zu\n",
                    "", meter.registers.size(), kaa::modbus::PlanLimits{}.max_gap, l.polls,
                    l.requests, l.refusals, l.requests_after, minimal.size());
            }
        }
    }
    std::printf(
        "\nbus time: frames at the bus's baud rate (9600 8N1 here) plus the silence before "
        "each request (inter_request_delay 20ms), as kaa-gatewayd --check estimates it; "
        "the meter's own response latency is not included.\n");
    return 0;
}
