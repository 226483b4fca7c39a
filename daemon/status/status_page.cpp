// The status document as an HTML page (see status_page.hpp).
#include "daemon/status/status_page.hpp"

#include <fmt/format.h>

#include "core/printable.hpp"
#include "daemon/status/document_fields.hpp"
#include "daemon/status/status_render.hpp"

namespace kaa::status {
namespace {

using nlohmann::json;

constexpr const char* kStyle =
    "body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;background:#fafafa}"
    "h1{font-size:1.4em;margin:0}h2{font-size:1.1em;margin:1.4em 0 .4em}"
    ".meta{color:#666;margin:.3em 0 1em}"
    "table{border-collapse:collapse;width:100%;background:#fff}"
    "th,td{border-bottom:1px solid #ddd;padding:.35em .6em;text-align:left;vertical-align:top}"
    "th{background:#eee}td:first-child,td:nth-child(2){white-space:nowrap}"
    ".ok{color:#0a6b2d;font-weight:600}.failing,.down,.bad{color:#b00020;font-weight:600}"
    ".waiting,.starting,.closed{color:#777}"
    ".value{display:inline-block;margin-right:1em;font-family:ui-monospace,monospace}"
    ".box{background:#fff;border:1px solid #ddd;padding:.6em .8em;margin:.4em 0}"
    ".err{color:#b00020}footer{color:#666;margin-top:1.5em;font-size:.9em}";

/// Text from the document, printable and escaped for HTML.
std::string esc(const json& j, const char* key, size_t max_bytes = 200) {
    return html_escape(text_of(j, key, max_bytes));
}

/// A CSS class from a state word: only known words, anything else "bad".
std::string state_class(const std::string& state) {
    for (const char* known : {"ok", "failing", "waiting", "open", "closed", "down", "starting"}) {
        if (state == known)
            return state == "open" ? "ok" : state;
    }
    return "bad";
}

void render_uplink_box(std::string& out, const json& up, int64_t now) {
    const bool connected = bool_of(up, "connected");
    out += fmt::format(
        "<div class=\"box\" id=\"uplink\"><b>Uplink</b> <span class=\"{}\">{}</span> {} "
        "{} &middot; {} delivered, {} in flight, {} batches resent, {} rejected",
        connected ? "ok" : "failing", connected ? "connected to" : "NOT connected to",
        esc(up, "broker"),
        int_of(up, "since_ms") > 0 ? "(since " + ago(now, int_of(up, "since_ms")) + ")" : "",
        int_of(up, "samples_delivered"), int_of(up, "in_flight"), int_of(up, "batches_resent"),
        int_of(up, "samples_rejected"));
    if (!connected && !text_of(up, "last_disconnect").empty())
        out += "<br><span class=\"err\">last cut: " + esc(up, "last_disconnect") + "</span>";
    const json& err = member(up, "last_error");
    if (err.is_object()) {
        out += fmt::format("<br><span class=\"err\">last /error {} '{}' ({}, {})</span>",
                           int_of(err, "code"), esc(err, "reason", 120), esc(err, "meter"),
                           ago(now, int_of(err, "at_ms")));
    }
    out += "</div>\n";
}

void render_buffer_box(std::string& out, const json& buf, int64_t now) {
    out += fmt::format("<div class=\"box\" id=\"buffer\"><b>Buffer</b> {} samples waiting ({})",
                       int_of(buf, "samples"), format_bytes(int_of(buf, "bytes")));
    if (member(buf, "oldest_ms").is_number())
        out += ", oldest " + format_age(now - int_of(buf, "oldest_ms"));
    if (int_of(buf, "file_bytes") > 0)
        out += ", file " + format_bytes(int_of(buf, "file_bytes"));
    const int64_t dropped = int_of(buf, "dropped_overflow");
    const int64_t lost = int_of(buf, "lost_unstored");
    if (dropped > 0 || lost > 0) {
        out += fmt::format(
            " &middot; <span class=\"err\">{} dropped (buffer full), {} lost "
            "(disk refused writes)</span>",
            dropped, lost);
    }
    out += "</div>\n";
}

void render_clock_box(std::string& out, const json& clock, int64_t now) {
    const std::string state = text_of(clock, "state");
    if (state != "waiting" && state != "unsynced")
        return;
    const int64_t since = int_of(clock, "unsynced_since_ms");
    out += fmt::format(
        "<div class=\"box\" id=\"clock\"><b>Clock</b> <span class=\"failing\">NOT "
        "synchronised</span> for {}: {}</div>\n",
        since > 0 ? format_age(now - since) : "?",
        state == "waiting" ? "readings are held until it is" : "sending with the local time");
}

void render_endpoint_box(std::string& out, const json& own) {
    if (!own.is_object())
        return;
    out += fmt::format(
        "<div class=\"box\" id=\"gateway-endpoint\"><b>Gateway endpoint</b> {}: health every "
        "{}, {} confirmed, {} waiting</div>\n",
        esc(own, "token"), format_age(int_of(own, "health_interval_ms")),
        int_of(own, "samples_confirmed"), int_of(own, "samples_waiting"));
}

void render_bus_table(std::string& out, const json& buses, int64_t now) {
    out +=
        "<h2>Buses</h2>\n<table id=\"buses\"><tr><th>Bus</th><th>State</th><th>Meters</th>"
        "<th>Utilisation (estimated / measured)</th><th>Last error</th></tr>\n";
    if (buses.is_array()) {
        for (const json& b : buses) {
            const std::string state = text_of(b, "state");
            const auto share = [&](const char* key) {
                const json& v = member(b, key);
                return v.is_number() ? fmt::format("{:.0f}%", v.get<double>() * 100)
                                     : std::string("-");
            };
            std::string error = esc(b, "last_error", 160);
            if (!error.empty())
                error += " (" + ago(now, int_of(b, "last_error_ms")) + ")";
            out += fmt::format(
                "<tr data-bus=\"{}\"><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td>{} / "
                "{}</td><td class=\"err\">{}</td></tr>\n",
                esc(b, "name"), esc(b, "name"), state_class(state), html_escape(state),
                int_of(b, "meters"), share("utilisation_estimated"), share("utilisation_measured"),
                error);
        }
    }
    out += "</table>\n";
}

void render_meter_table(std::string& out, const json& meters, int64_t now) {
    out +=
        "<h2>Meters</h2>\n<table id=\"meters\"><tr><th>Meter</th><th>Bus</th><th>Health</th>"
        "<th>Last good read</th><th>Reads / timeouts / exceptions / bad frames</th>"
        "<th>Last values</th></tr>\n";
    if (meters.is_array()) {
        for (const json& m : meters) {
            const std::string state = text_of(m, "state");
            std::string health = html_escape(state);
            if (state == "failing" && int_of(m, "failing_since_ms") > 0)
                health += " since " + ago(now, int_of(m, "failing_since_ms"));
            if (int_of(m, "backoff_until_ms") > now)
                health += ", backing off " + format_age(int_of(m, "backoff_until_ms") - now);
            const json& t = member(m, "transactions");
            std::string values;
            const json& v = member(m, "values");
            if (v.is_object()) {
                for (auto it = v.begin(); it != v.end(); ++it) {
                    const std::string name = html_escape(printable(it.key(), 60));
                    values += fmt::format("<span class=\"value\" data-register=\"{}\">{}={}</span>",
                                          name, name, html_escape(value_text(it.value())));
                }
            }
            std::string error;
            if (!text_of(m, "last_error").empty())
                error = "<br><span class=\"err\">" + esc(m, "last_error", 160) + "</span>";
            out += fmt::format(
                "<tr data-meter=\"{}\"><td>{}</td><td>{}</td><td class=\"{} health\">{}{}</td>"
                "<td>{}</td><td>{} / {} / {} / {}</td><td class=\"values\">{}</td></tr>\n",
                esc(m, "name"), esc(m, "name"), esc(m, "bus"), state_class(state), health, error,
                ago(now, int_of(m, "last_good_ms")), int_of(t, "answered"), int_of(t, "timeouts"),
                int_of(t, "exceptions"), int_of(t, "bad_frames"), values);
        }
    }
    out += "</table>\n";
}

}  // namespace

std::string html_escape(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

std::string render_status_html(const json& doc) {
    const int64_t now = int_of(doc, "generated_ms");
    std::string out = fmt::format(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta http-equiv=\"refresh\" content=\"{}\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<title>kaa-gateway status</title><style>{}</style></head>\n<body>\n"
        "<h1>kaa-gateway</h1><p class=\"meta\">kaa-gatewayd {}, up {}, config {}</p>\n",
        kPageRefreshSeconds, kStyle, esc(doc, "version", 40),
        format_age(now - int_of(doc, "started_ms", now)), esc(doc, "config", 120));
    render_uplink_box(out, member(doc, "uplink"), now);
    render_buffer_box(out, member(doc, "buffer"), now);
    render_clock_box(out, member(doc, "clock"), now);
    render_endpoint_box(out, member(doc, "gateway_endpoint"));
    render_bus_table(out, member(doc, "buses"), now);
    render_meter_table(out, member(doc, "meters"), now);
    out += fmt::format(
        "<footer>Read-only; reloads every {} s. The same figures: <a href=\"/status.json\">"
        "status.json</a>, <a href=\"/metrics\">metrics</a>, and <code>kaa-gateway "
        "status</code> on the gateway.</footer>\n</body></html>\n",
        kPageRefreshSeconds);
    return out;
}

}  // namespace kaa::status
