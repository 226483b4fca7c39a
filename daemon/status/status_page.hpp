#pragma once
// The status page: the status document (status_render.hpp) as one small HTML page for the
// engineer with a laptop at commissioning time: uplink, buffer, clock, buses, and every
// meter with its health and last values. Read-only, no scripts, no external assets; it
// reloads itself. Every text from outside (names, errors, values) is escaped.

#include <string>

#include <nlohmann/json.hpp>

namespace kaa::status {

/// How often the page reloads itself, in seconds.
constexpr int kPageRefreshSeconds = 5;

/// The page for `doc`; a partial or hostile document renders as far as it goes.
std::string render_status_html(const nlohmann::json& doc);

/// `text` with & < > " ' replaced by their character references.
std::string html_escape(const std::string& text);

}  // namespace kaa::status
