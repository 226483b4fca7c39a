// The scan: which units answer, then which profiles' fingerprints each passes.
#include "drivers/modbus/scan.hpp"

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <tuple>

#include <fmt/format.h>

#include "drivers/modbus/fingerprint.hpp"
#include "drivers/modbus/meter_poller.hpp"

namespace kaa::modbus {
namespace {

constexpr int kFirstUnit = 1;
constexpr int kLastUnit = 247;
/// Bytes of a read request on a serial line: unit, function, address, count, CRC.
constexpr int kRtuRequestBytes = 8;
/// Exceptions a Modbus gateway answers for a unit behind it that is silent or unreachable.
constexpr int kGatewayPathUnavailable = 10;
constexpr int kGatewayTargetSilent = 11;

/// One unit id of a list, or an error naming the text.
Result<int> parse_unit(const std::string& text, const std::string& whole) {
    const bool digits =
        !text.empty() && text.size() <= 3 &&
        std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
    const int unit = digits ? std::stoi(text) : -1;
    if (unit < kFirstUnit || unit > kLastUnit) {
        return make_error(ErrorKind::kInvalidArgument,
                          fmt::format("--units '{}': '{}' is not a unit id 1..247 (0 is the "
                                      "broadcast address, which no meter answers)",
                                      whole, text));
    }
    return unit;
}

/// The request's and the inter-frame silence's time on the wire before the next request.
std::chrono::microseconds wire_time(const config::BusConfig& bus) {
    std::chrono::microseconds gap = bus.inter_request_delay;
    std::chrono::microseconds request{0};
    if (const auto* rtu = std::get_if<config::RtuLink>(&bus.link); rtu && rtu->baud > 0) {
        const int bits =
            1 + rtu->data_bits + (rtu->parity == config::Parity::kNone ? 0 : 1) + rtu->stop_bits;
        request = std::chrono::microseconds(1'000'000LL * kRtuRequestBytes * bits / rtu->baud);
        gap = std::max(gap, std::chrono::microseconds(38'500'000LL / rtu->baud + 1));
    }
    return request + gap;
}

/// The read that asks whether a unit is there: one holding register at address 0.
PlannedRead presence_read() {
    PlannedRead read;
    read.function = config::RegisterFunction::kHolding;
    read.address = 0;
    read.count = 1;
    read.slots.push_back(PlannedSlot{0, 0, 1});
    return read;
}

/// What a unit's answer says: "registers", the exception, an unusable reply; nothing when
/// it means the unit is not there (a timeout, or a gateway saying the unit is silent).
std::optional<std::string> presence(const Result<std::vector<uint16_t>>& answer) {
    if (answer.ok())
        return std::string("registers");
    const Error& e = answer.error();
    if (e.kind == ErrorKind::kModbusException)
        return e.code == kGatewayPathUnavailable || e.code == kGatewayTargetSilent
                   ? std::nullopt
                   : std::optional<std::string>(e.message);
    if (e.kind == ErrorKind::kBadResponse)
        return "an unusable reply (" + e.message + ")";
    return std::nullopt;
}

/// True for errors that mean the link itself is gone (close it and open it again).
bool link_lost(const Error& e) {
    return e.kind == ErrorKind::kIo || e.kind == ErrorKind::kNotConnected;
}

/// Asks units over one bus: paced like the gateway's polls, reopening a lost link once.
class Asker {
  public:
    /// An answer, and whether the link dropped on both attempts.
    struct Asked {
        Result<std::vector<uint16_t>> answer;
        bool dropped_twice = false;
    };

    Asker(const config::BusConfig& bus, MeterTransport& transport, const Clock& clock)
        : transport_(transport),
          clock_(clock),
          line_(bus, transport, clock, [this](Clock::Monotonic when) { return pause(when); }) {}

    /// The unit's answer to `read`; an error only when the link cannot be opened.
    Result<Asked> ask(int unit, const PlannedRead& read) {
        for (int attempt = 0;; ++attempt) {
            if (!transport_.is_open()) {
                if (Status st = transport_.open(); !st)
                    return st.error();
            }
            Result<std::vector<uint16_t>> answer = line_.read(unit, read);
            if (answer.ok() || !link_lost(answer.error()))
                return Asked{std::move(answer), false};
            transport_.close();
            if (attempt == 1)
                return Asked{std::move(answer), true};
        }
    }

  private:
    /// Waits until `when` on the clock (the silence between requests).
    bool pause(Clock::Monotonic when) {
        std::unique_lock<std::mutex> lock(mutex_);
        clock_.wait_until(lock, cv_, when, [] { return false; });
        return true;
    }

    MeterTransport& transport_;
    const Clock& clock_;
    std::mutex mutex_;
    std::condition_variable cv_;
    BusLine line_;
};

/// The profiles whose every fingerprint check the unit passes, as "id (maker model)".
/// Each distinct read is made once per unit, whichever profiles share it.
Result<std::vector<std::string>> identify(Asker& asker, int unit,
                                          const std::vector<config::MeterProfile>& profiles) {
    using Key = std::tuple<int, uint16_t, uint16_t>;
    std::map<Key, Result<std::vector<uint16_t>>> answers;
    std::vector<std::string> matches;
    for (const config::MeterProfile& profile : profiles) {
        if (profile.fingerprint.empty())
            continue;
        bool holds = true;
        for (const config::FingerprintCheck& check : profile.fingerprint) {
            const PlannedRead read = fingerprint_read(check);
            const Key key{static_cast<int>(read.function), read.address, read.count};
            auto it = answers.find(key);
            if (it == answers.end()) {
                Result<Asker::Asked> asked = asker.ask(unit, read);
                if (!asked)
                    return asked.error();
                it = answers.emplace(key, std::move(asked.value().answer)).first;
            }
            if (!fingerprint_holds(check, it->second)) {
                holds = false;
                break;
            }
        }
        if (holds)
            matches.push_back(fmt::format("{} ({} {})", profile.id, profile.maker, profile.model));
    }
    return matches;
}

}  // namespace

Result<std::vector<int>> parse_unit_list(const std::string& text) {
    std::vector<int> units;
    size_t start = 0;
    while (start <= text.size()) {
        const size_t comma = std::min(text.find(',', start), text.size());
        const std::string part = text.substr(start, comma - start);
        const size_t dash = part.find('-');
        const Result<int> first = parse_unit(part.substr(0, dash), text);
        if (!first)
            return first.error();
        int last = first.value();
        if (dash != std::string::npos) {
            const Result<int> end = parse_unit(part.substr(dash + 1), text);
            if (!end)
                return end.error();
            if (end.value() < first.value()) {
                return make_error(
                    ErrorKind::kInvalidArgument,
                    fmt::format("--units '{}': range '{}' runs backwards", text, part));
            }
            last = end.value();
        }
        for (int u = first.value(); u <= last; ++u)
            units.push_back(u);
        start = comma + 1;
    }
    std::sort(units.begin(), units.end());
    units.erase(std::unique(units.begin(), units.end()), units.end());
    return units;
}

std::string format_unit_list(const std::vector<int>& units) {
    std::string out;
    for (size_t i = 0; i < units.size();) {
        size_t j = i;
        while (j + 1 < units.size() && units[j + 1] == units[j] + 1)
            ++j;
        out += (out.empty() ? "" : ",") + std::to_string(units[i]);
        if (j > i)
            out += (j == i + 1 ? "," : "-") + std::to_string(units[j]);
        i = j + 1;
    }
    return out;
}

std::chrono::milliseconds scan_estimate(const config::BusConfig& bus, size_t units) {
    const auto per_unit = std::chrono::microseconds(bus.timeout) + wire_time(bus);
    const auto total = per_unit * static_cast<int64_t>(units);
    return std::chrono::ceil<std::chrono::milliseconds>(total);
}

std::string estimate_line(const config::BusConfig& bus, const std::vector<int>& units) {
    const int64_t seconds = (scan_estimate(bus, units.size()).count() + 999) / 1000;
    const auto* rtu = std::get_if<config::RtuLink>(&bus.link);
    return fmt::format(
        "scanning unit{} {} {}: at most {} s ({} ms for each unit that does not "
        "answer)",
        units.size() == 1 ? "" : "s", format_unit_list(units),
        rtu != nullptr ? fmt::format("at {} baud", rtu->baud) : "on " + describe_link(bus), seconds,
        bus.timeout.count());
}

std::string progress_line(const ScanProgress& p) {
    return fmt::format("scanned {} of {} units (last {}), {} answered", p.done, p.total, p.unit,
                       p.found);
}

ScanResult scan_units(const config::BusConfig& bus, MeterTransport& transport, const Clock& clock,
                      const std::vector<int>& units,
                      const std::vector<config::MeterProfile>& profiles,
                      const std::function<void(const ScanProgress&)>& progress) {
    ScanResult result;
    Asker asker(bus, transport, clock);
    for (size_t i = 0; i < units.size(); ++i) {
        const int unit = units[i];
        Result<Asker::Asked> asked = asker.ask(unit, presence_read());
        // An unusable reply may be a late answer of the unit before: ask once more.
        if (asked && !asked.value().answer.ok() &&
            asked.value().answer.error().kind == ErrorKind::kBadResponse)
            asked = asker.ask(unit, presence_read());
        if (!asked) {
            result.link_error = asked.error();
            break;
        }
        if (asked.value().dropped_twice) {
            result.notes.push_back(fmt::format(
                "unit {}: the link dropped both times it was asked ({}); counted as silent", unit,
                asked.value().answer.error().message));
        }
        if (auto answer = presence(asked.value().answer))
            result.found.push_back(FoundUnit{unit, std::move(*answer), {}});
        if (progress)
            progress(ScanProgress{i + 1, units.size(), result.found.size(), unit});
    }
    for (FoundUnit& found : result.found) {
        if (result.link_error)
            break;
        Result<std::vector<std::string>> matches = identify(asker, found.unit, profiles);
        if (!matches)
            result.link_error = matches.error();
        else
            found.profiles = std::move(matches.value());
    }
    transport.close();
    return result;
}

ScanOutcome scan_report(const ScanResult& result, const std::vector<int>& units) {
    ScanOutcome out;
    std::vector<std::string> ids;
    for (const FoundUnit& f : result.found) {
        out.text += fmt::format("unit {}: {}", f.unit, f.answer);
        if (!f.profiles.empty())
            out.text += fmt::format("; may be {}", fmt::join(f.profiles, ", "));
        out.text += "\n";
        ids.push_back(std::to_string(f.unit));
    }
    for (const std::string& note : result.notes)
        out.text += "note: " + note + "\n";
    if (ids.empty())
        out.text += fmt::format("no unit of {} answered\n", format_unit_list(units));
    else
        out.text += fmt::format("{} unit{} answered: {}\n", ids.size(), ids.size() == 1 ? "" : "s",
                                fmt::join(ids, ", "));
    out.exit_code = ids.empty() ? 1 : 0;
    if (result.link_error) {
        out.exit_code = 2;
        out.error = "scan stopped: " + result.link_error->message + "\n";
    }
    return out;
}

}  // namespace kaa::modbus
