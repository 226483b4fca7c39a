#pragma once
// The status document (the JSON the daemon serves on its status socket, schema 1: see the
// README's "Status" section) rendered for people and for Prometheus. `kaa-gateway status`
// uses both; the daemon's status page will too.

#include <string>

#include <nlohmann/json.hpp>

namespace kaa::status {

/// The document's schema number; a new field keeps it, a changed or removed one bumps it.
constexpr int kStatusSchema = 1;

/// The status for a terminal: fits 80 columns; ages are counted from the document's
/// generated_ms. Fields a document lacks are left out, never a crash.
std::string render_status_text(const nlohmann::json& doc);

/// The same figures in the Prometheus text exposition format (version 0.0.4), for
/// node_exporter's textfile collector.
std::string render_prometheus(const nlohmann::json& doc);

/// "45s", "3m 20s", "2h 5m", "4d 3h": a duration in milliseconds, two units at most.
std::string format_age(int64_t ms);

}  // namespace kaa::status
