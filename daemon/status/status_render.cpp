// Rendering the status document for a terminal and for Prometheus.
#include "daemon/status/status_render.hpp"

#include <cmath>
#include <cstdint>
#include <vector>

#include <fmt/format.h>

#include "core/printable.hpp"
#include "daemon/status/document_fields.hpp"

namespace kaa::status {
namespace {

using nlohmann::json;

/// "12%" or "-" for a missing figure.
std::string percent(const json& j, const char* key) {
    const json& v = member(j, key);
    if (!v.is_number())
        return "-";
    return fmt::format("{:.0f}%", v.get<double>() * 100);
}

/// Appends `items` separated by spaces, wrapping before 80 columns with `indent`.
void append_wrapped(std::string& out, const std::vector<std::string>& items,
                    const std::string& indent) {
    size_t column = 0;
    for (const auto& item : items) {
        if (column == 0) {
            out += indent;
            column = indent.size();
        } else if (column + 1 + item.size() > 79) {
            out += "\n" + indent;
            column = indent.size();
        } else {
            out += ' ';
            ++column;
        }
        out += item;
        column += item.size();
    }
    if (column > 0)
        out += '\n';
}

/// A name padded or cut to `width` columns.
std::string cell(const std::string& text, size_t width) {
    if (text.size() > width)
        return text.substr(0, width - 1) + "~";
    return text + std::string(width - text.size(), ' ');
}

void render_uplink(std::string& out, const json& up, int64_t now) {
    const bool connected = bool_of(up, "connected");
    const int64_t since = int_of(up, "since_ms");
    out += fmt::format("Uplink  {} {} {} ({} connects)",
                       connected ? "connected to" : "NOT connected to", text_of(up, "broker"),
                       since > 0 ? "for " + format_age(now - since) : "", int_of(up, "connects"));
    out += "\n";
    if (!connected && !text_of(up, "last_disconnect").empty())
        out += "        last cut: " + text_of(up, "last_disconnect", 60) + "\n";
    out += fmt::format("        {} delivered, {} in flight, {} batches resent, {} rejected\n",
                       int_of(up, "samples_delivered"), int_of(up, "in_flight"),
                       int_of(up, "batches_resent"), int_of(up, "samples_rejected"));
    const json& err = member(up, "last_error");
    if (err.is_object()) {
        out += fmt::format("        last /error {} '{}' ({}, {})\n", int_of(err, "code"),
                           text_of(err, "reason", 30), text_of(err, "meter", 20),
                           ago(now, int_of(err, "at_ms")));
    }
}

/// The clock, when it is not simply synchronised (a line only when there is news).
void render_clock(std::string& out, const json& clock, int64_t now) {
    if (!clock.is_object())
        return;
    const std::string state = text_of(clock, "state");
    const int64_t since = int_of(clock, "unsynced_since_ms");
    const std::string age = since > 0 ? format_age(now - since) : "?";
    if (state == "waiting") {
        out += fmt::format("Clock   NOT synchronised for {}: readings held (up to {})\n", age,
                           format_age(int_of(clock, "max_unsynced_ms")));
    } else if (state == "unsynced") {
        out += fmt::format("Clock   NOT synchronised for {}: sending with the local time\n", age);
    } else if (int_of(clock, "sync_offset_ms") != 0 || int_of(clock, "steps") > 0) {
        out += fmt::format("Clock   synchronised; moved {} ms at sync, {} steps since\n",
                           int_of(clock, "sync_offset_ms"), int_of(clock, "steps"));
    }
}

/// The gateway's own endpoint (gateway.token), when it has one.
void render_own_endpoint(std::string& out, const json& own) {
    if (!own.is_object())
        return;
    out += fmt::format("Gateway endpoint {}: health every {}, {} confirmed, {} waiting\n",
                       text_of(own, "token", 24), format_age(int_of(own, "health_interval_ms")),
                       int_of(own, "samples_confirmed"), int_of(own, "samples_waiting"));
}

void render_buffer(std::string& out, const json& buf, int64_t now) {
    const int64_t samples = int_of(buf, "samples");
    std::string oldest;
    if (member(buf, "oldest_ms").is_number())
        oldest = ", oldest " + format_age(now - int_of(buf, "oldest_ms"));
    out += fmt::format("Buffer  {} samples waiting ({}{})", samples,
                       format_bytes(int_of(buf, "bytes")), oldest);
    if (int_of(buf, "file_bytes") > 0)
        out += ", file " + format_bytes(int_of(buf, "file_bytes"));
    out += "\n";
    const int64_t dropped = int_of(buf, "dropped_overflow");
    const int64_t lost = int_of(buf, "lost_unstored");
    const int64_t memory = int_of(buf, "in_memory");
    if (dropped > 0 || lost > 0 || memory > 0) {
        out += fmt::format(
            "        {} dropped (buffer full), {} lost (disk refused writes), {} "
            "only in memory\n",
            dropped, lost, memory);
    }
}

void render_buses(std::string& out, const json& buses, int64_t now) {
    if (!buses.is_array() || buses.empty())
        return;
    out += "\nBUS              STATE     USE est/now  REOPENS  LAST ERROR\n";
    for (const json& b : buses) {
        std::string last = text_of(b, "last_error", 40);
        if (!last.empty())
            last += " (" + ago(now, int_of(b, "last_error_ms")) + ")";
        out +=
            fmt::format("{} {} {:>4}/{:<4}  {:>7}  {}\n", cell(text_of(b, "name", 40), 16),
                        cell(text_of(b, "state"), 9), percent(b, "utilisation_estimated"),
                        percent(b, "utilisation_measured"), int_of(b, "reopens"), cell(last, 28));
    }
}

/// "ok", "failing 3m", "failing 3m, next try in 20s", "waiting".
std::string health_text(const json& m, int64_t now) {
    const std::string state = text_of(m, "state");
    if (state != "failing")
        return state;
    std::string out = "failing " + format_age(now - int_of(m, "failing_since_ms", now));
    const int64_t until = int_of(m, "backoff_until_ms");
    if (until > now)
        out += ", retry in " + format_age(until - now);
    return out;
}

void render_meters(std::string& out, const json& meters, int64_t now) {
    if (!meters.is_array() || meters.empty())
        return;
    out += "\n" + fmt::format("{} {} {} {} {:>6} {:>5} {:>4} {:>4}\n", cell("METER", 15),
                              cell("BUS", 11), cell("HEALTH", 17), cell("LAST READ", 9), "POLLS",
                              "T-OUT", "EXC", "BAD");
    for (const json& m : meters) {
        const json& t = member(m, "transactions");
        out +=
            fmt::format("{} {} {} {} {:>6} {:>5} {:>4} {:>4}\n", cell(text_of(m, "name", 40), 15),
                        cell(text_of(m, "bus", 40), 11), cell(health_text(m, now), 17),
                        cell(ago(now, int_of(m, "last_good_ms")), 9), int_of(m, "polls"),
                        int_of(t, "timeouts"), int_of(t, "exceptions"), int_of(t, "bad_frames"));
        const std::string err = text_of(m, "last_error", 56);
        if (!err.empty())
            out += "  ! " + err + "\n";
        const json& values = member(m, "values");
        if (values.is_object() && !values.empty()) {
            std::vector<std::string> items;
            for (auto it = values.begin(); it != values.end(); ++it)
                items.push_back(printable(it.key(), 40) + "=" + value_text(it.value()));
            append_wrapped(out, items, "    ");
        }
    }
}

/// `text` without spaces at the ends of its lines (the columns pad them).
std::string trim_lines(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string::npos)
            end = text.size();
        size_t last = end;
        while (last > start && text[last - 1] == ' ')
            --last;
        out.append(text, start, last - start);
        if (end < text.size())
            out += '\n';
        start = end + 1;
    }
    return out;
}

/// Prometheus label value: backslash, double quote and newline escaped.
std::string label(const std::string& value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

/// Prometheus metric families, each written with its HELP and TYPE once.
class Exposition {
  public:
    /// Starts a family.
    void family(const std::string& name, const char* type, const char* help) {
        name_ = "kaa_gateway_" + name;
        out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name_, help, name_, type);
    }
    /// One sample of the current family; `labels` already formatted ({a="b"}) or "".
    void sample(const std::string& labels, double value) {
        if (std::isnan(value) || std::isinf(value))
            return;
        out_ += name_ + labels + " " + fmt::format("{}", value) + "\n";
    }
    std::string take() { return std::move(out_); }

  private:
    std::string name_;
    std::string out_;
};

}  // namespace

std::string format_age(int64_t ms) {
    if (ms < 0)
        ms = 0;
    const int64_t s = ms / 1000;
    if (s < 60)
        return fmt::format("{}s", s);
    if (s < 3600)
        return fmt::format("{}m {}s", s / 60, s % 60);
    if (s < 86400)
        return fmt::format("{}h {}m", s / 3600, (s % 3600) / 60);
    return fmt::format("{}d {}h", s / 86400, (s % 86400) / 3600);
}

std::string render_status_text(const json& doc) {
    const int64_t now = int_of(doc, "generated_ms");
    std::string out =
        fmt::format("kaa-gatewayd {}, up {}, config {}\n", text_of(doc, "version", 40),
                    format_age(now - int_of(doc, "started_ms", now)), text_of(doc, "config", 60));
    render_uplink(out, member(doc, "uplink"), now);
    render_own_endpoint(out, member(doc, "gateway_endpoint"));
    render_clock(out, member(doc, "clock"), now);
    render_buffer(out, member(doc, "buffer"), now);
    render_buses(out, member(doc, "buses"), now);
    render_meters(out, member(doc, "meters"), now);
    return trim_lines(out);
}

std::string render_prometheus(const json& doc) {
    Exposition e;
    const int64_t now = int_of(doc, "generated_ms");
    const json& up = member(doc, "uplink");
    const json& buf = member(doc, "buffer");
    e.family("uplink_connected", "gauge", "1 while the MQTT connection to Kaa is up.");
    e.sample("", bool_of(up, "connected") ? 1 : 0);
    // Figures copied as they are: family, type, help, and where the document has them.
    struct Plain {
        const char* name;
        const char* type;
        const char* help;
        const json& section;
        const char* key;
    };
    const Plain plain[] = {
        {"uplink_connects_total", "counter", "MQTT connections made since start.", up, "connects"},
        {"uplink_in_flight", "gauge", "Requests published and not yet confirmed.", up, "in_flight"},
        {"samples_delivered_total", "counter", "Samples Kaa confirmed.", up, "samples_delivered"},
        {"samples_rejected_total", "counter", "Samples Kaa refused for good.", up,
         "samples_rejected"},
        {"batches_resent_total", "counter", "Batches sent again (timeout, 5xx, cut).", up,
         "batches_resent"},
        {"kaa_errors_total", "counter", "/error replies received from Kaa.", up, "errors_received"},
        {"buffer_samples", "gauge", "Samples waiting for delivery.", buf, "samples"},
        {"buffer_bytes", "gauge", "Payload bytes waiting for delivery.", buf, "bytes"},
    };
    for (const Plain& p : plain) {
        e.family(p.name, p.type, p.help);
        e.sample("", static_cast<double>(int_of(p.section, p.key)));
    }
    const json& clock = member(doc, "clock");
    e.family("clock_synchronised", "gauge",
             "1 when read times can be trusted (synchronised, or no way to tell).");
    e.sample("", text_of(clock, "state") == "synced" || !clock.is_object() ? 1 : 0);
    e.family("clock_steps_total", "counter", "Jumps of the wall clock while synchronised.");
    e.sample("", static_cast<double>(int_of(clock, "steps")));
    e.family("buffer_oldest_age_seconds", "gauge", "Age of the oldest waiting sample (0: none).");
    e.sample("", member(buf, "oldest_ms").is_number()
                     ? static_cast<double>(now - int_of(buf, "oldest_ms")) / 1000.0
                     : 0.0);
    e.family("buffer_dropped_total", "counter", "Samples dropped because the buffer was full.");
    e.sample("", static_cast<double>(int_of(buf, "dropped_overflow")));
    e.family("buffer_lost_total", "counter",
             "Samples lost: the disk refused writes and memory was full.");
    e.sample("", static_cast<double>(int_of(buf, "lost_unstored")));
    e.family("buffer_file_bytes", "gauge", "Size of the buffer file and its write-ahead log.");
    e.sample("", static_cast<double>(int_of(buf, "file_bytes")));

    const json& buses = member(doc, "buses");
    const json& meters = member(doc, "meters");
    const json none = json::array();
    const json& bus_list = buses.is_array() ? buses : none;
    const json& meter_list = meters.is_array() ? meters : none;
    e.family("bus_up", "gauge", "1 while the bus's link is open (or closed between rounds).");
    for (const json& b : bus_list) {
        const std::string state = text_of(b, "state");
        e.sample("{bus=\"" + label(text_of(b, "name", 100)) + "\"}",
                 state == "open" || state == "closed" ? 1 : 0);
    }
    e.family("bus_reopens_total", "counter", "Times the bus's link was opened again.");
    for (const json& b : bus_list)
        e.sample("{bus=\"" + label(text_of(b, "name", 100)) + "\"}",
                 static_cast<double>(int_of(b, "reopens")));
    e.family("bus_utilisation_ratio", "gauge",
             "Share of the bus's time its polls take: estimated, and measured lately.");
    for (const json& b : bus_list) {
        const std::string l = label(text_of(b, "name", 100));
        for (const char* kind : {"estimated", "measured"}) {
            const json& v =
                member(b, kind[0] == 'e' ? "utilisation_estimated" : "utilisation_measured");
            if (v.is_number())
                e.sample("{bus=\"" + l + "\",kind=\"" + kind + "\"}", v.get<double>());
        }
    }
    const auto meter_labels = [](const json& m) {
        return "meter=\"" + label(text_of(m, "name", 100)) + "\",bus=\"" +
               label(text_of(m, "bus", 100)) + "\"";
    };
    e.family("meter_up", "gauge", "1 while the meter's last poll read something.");
    for (const json& m : meter_list)
        e.sample("{" + meter_labels(m) + "}", text_of(m, "state") == "ok" ? 1 : 0);
    e.family("meter_last_read_timestamp_seconds", "gauge",
             "When the meter's last good poll was read (0: never).");
    for (const json& m : meter_list)
        e.sample("{" + meter_labels(m) + "}",
                 static_cast<double>(int_of(m, "last_good_ms")) / 1000.0);
    e.family("meter_polls_total", "counter", "Polls of the meter.");
    for (const json& m : meter_list)
        e.sample("{" + meter_labels(m) + "}", static_cast<double>(int_of(m, "polls")));
    e.family("meter_polls_failed_total", "counter", "Polls of the meter that read nothing.");
    for (const json& m : meter_list)
        e.sample("{" + meter_labels(m) + "}", static_cast<double>(int_of(m, "polls_failed")));
    e.family("meter_transactions_total", "counter", "Modbus transactions by outcome.");
    for (const json& m : meter_list) {
        const json& t = member(m, "transactions");
        for (const char* outcome :
             {"answered", "timeouts", "exceptions", "bad_frames", "link_errors"}) {
            e.sample("{" + meter_labels(m) + ",outcome=\"" + outcome + "\"}",
                     static_cast<double>(int_of(t, outcome)));
        }
    }
    e.family("meter_reading", "gauge", "The last good value of each numeric register.");
    for (const json& m : meter_list) {
        const json& values = member(m, "values");
        if (!values.is_object())
            continue;
        for (auto it = values.begin(); it != values.end(); ++it) {
            if (!it->is_number() && !it->is_boolean())
                continue;
            const double v = it->is_boolean() ? (it->get<bool>() ? 1.0 : 0.0) : it->get<double>();
            e.sample(
                "{" + meter_labels(m) + ",register=\"" + label(printable(it.key(), 100)) + "\"}",
                v);
        }
    }
    return e.take();
}

}  // namespace kaa::status
