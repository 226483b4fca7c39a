// Reloading the configuration on SIGHUP: parse the file again into a copy, keep running the
// old one when the copy is invalid, else apply only what changed. The buffer and the MQTT
// session stay as they are.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "config/isolated_loader.hpp"
#include "config/remote_override.hpp"
#include "daemon/commands/remote_config.hpp"
#include "daemon/config_diff.hpp"
#include "daemon/gateway.hpp"
#include "daemon/remote_config_file.hpp"

#include "daemon/commands/command_center.hpp"
#include "daemon/kaa/uplink.hpp"
#include "drivers/modbus/plan_report.hpp"

namespace kaa {
namespace {

// The component named in log lines, under a name of its own: with KAA_UNITY_BUILD this
// file shares one translation unit with the rest of its library.
constexpr const char* kReloadLog = "gateway";

/// "a, b, c", or "none".
std::string join(const std::vector<std::string>& names) {
    if (names.empty())
        return "none";
    std::string out;
    for (const auto& n : names)
        out += (out.empty() ? "" : ", ") + n;
    return out;
}

/// The names of the meters in these slots.
std::vector<std::string> meter_names(const config::GatewayConfig& config,
                                     const std::vector<size_t>& slots) {
    std::vector<std::string> out;
    for (size_t slot : slots)
        out.push_back(config.meters[slot].name);
    return out;
}

}  // namespace

void Gateway::start_reload() {
    const std::string path = config_->source_path;
    notifier_.reloading();
    spdlog::info("{}: reloading the configuration from {}", kReloadLog, path);
    // Parsed in a child process like at start, so the daemon's memory stays low, and waited
    // for on this thread, so that delivery, the watchdog and SIGTERM are served meanwhile.
    // The child only parses and writes to a pipe: no lock another thread holds is needed.
    reload_cancel_ = false;
    reload_thread_ = std::thread([this, path] {
        config::IsolationLimits limits;
        limits.cancel = &reload_cancel_;
        config::LoadOptions options;
        options.tls_inspector = options_.tls_inspector;
        auto loaded = std::make_shared<config::LoadResult>(
            config::load_gateway_config_isolated(path, options, limits));
        queue_.push_front(events::Reloaded{std::move(loaded)});
    });
}

void Gateway::cancel_reload() {
    if (!reload_thread_.joinable())
        return;
    reload_cancel_ = true;
    reload_thread_.join();
}

void Gateway::finish_reload(const config::LoadResult& local) {
    if (reload_thread_.joinable())
        reload_thread_.join();  // it has pushed its result: it is ending
    const std::string& path = config_->source_path;
    // The applied remote configuration stays laid over the file (kaa.remote_config).
    std::string remote_note;
    std::string remote_id;
    const config::LoadResult loaded = with_remote_config(local, {}, remote_note, remote_id);
    if (!remote_note.empty())
        spdlog::info("{}: {}", kReloadLog, remote_note);
    for (const auto& w : loaded.warnings)
        spdlog::warn("{}: {}", kReloadLog, w.to_string());
    if (!loaded.errors.empty() || !loaded.config) {
        for (const auto& e : loaded.errors)
            spdlog::error("{}: {}", kReloadLog, e.to_string());
        const size_t n = loaded.errors.size();
        const std::string count = n > config::kMaxConfigErrors
                                      ? fmt::format("more than {} errors", config::kMaxConfigErrors)
                                      : fmt::format("{} {}", n, n == 1 ? "error" : "errors");
        spdlog::error(
            "{}: reload failed: {} in {}; the running configuration stays in effect "
            "(check the file with kaa-gatewayd --check --config {})",
            kReloadLog, count, path, path);
        reload_note_ =
            fmt::format("; last reload FAILED: {} in {}, previous config running", count, path);
    } else {
        apply_reload(*loaded.config);
        reload_note_.clear();
    }
    next_status_ = clock_.now();
    publish_status();
    notifier_.ready();
}

void Gateway::apply_reload(config::GatewayConfig loaded) {
    // The same plan check as at start: a plan that cannot fit still polls.
    const PlanCheck plan = check_polling_plan(loaded);
    for (const auto& w : plan.warnings)
        spdlog::warn("{}: {}", kReloadLog, w);
    for (const auto& e : plan.errors)
        spdlog::error("{}: {}", kReloadLog, e);

    ConfigDiff diff = diff_configs(*config_, active_, std::move(loaded));
    for (const auto& setting : diff.needs_restart) {
        spdlog::warn(
            "{}: {} changed, which applies only at a restart (systemctl restart "
            "kaa-gateway); keeping the running value until then",
            kReloadLog, setting);
    }
    auto next = std::make_shared<const config::GatewayConfig>(std::move(diff.next));

    // Meters first reach the store and the uplink, so that their first samples have a home.
    const size_t known = config_->meters.size();
    for (size_t slot : diff.added) {
        const auto& meter = next->meters[slot];
        if (slot >= known)
            store_->add_meter(meter.name);
    }
    std::vector<size_t> announced = diff.added;
    announced.insert(announced.end(), diff.changed.begin(), diff.changed.end());
    for (size_t slot : announced) {
        const auto& meter = next->meters[slot];
        uplink_->set_endpoint(slot, uplink::Endpoint{meter.name, meter.token});
        uplink_->set_metadata(MetadataUpdate{slot, meter.metadata});
    }
    for (size_t slot : diff.removed)
        uplink_->retire_endpoint(slot);

    buses_.stop(diff.stop_buses);
    buses_.restart(next, diff.active, diff.restart_buses);
    const size_t untouched = buses_.size() - diff.restart_buses.size();
    config_ = std::move(next);
    active_ = std::move(diff.active);
    commands_->set_meters(config_, active_);

    if (diff.no_live_change()) {
        spdlog::info("{}: reloaded {}: no change to buses or meters", kReloadLog,
                     config_->source_path);
        return;
    }
    spdlog::info(
        "{}: reloaded {}: meters added: {}; changed: {}; removed: {}; buses restarted: {}; "
        "stopped: {}; {} buses kept polling without interruption",
        kReloadLog, config_->source_path, join(meter_names(*config_, diff.added)),
        join(meter_names(*config_, diff.changed)), join(meter_names(*config_, diff.removed)),
        join({diff.restart_buses.begin(), diff.restart_buses.end()}),
        join({diff.stop_buses.begin(), diff.stop_buses.end()}), untouched);
}

commands::ApplyOutcome Gateway::apply_remote_config(const std::string& config_id,
                                                    const nlohmann::json& pushed) {
    config::LoadResult merged = config::load_with_override(config_->source_path, pushed);
    if (!merged.config) {
        std::string reason = fmt::format("{} {}; nothing changed:", merged.errors.size(),
                                         merged.errors.size() == 1 ? "error" : "errors");
        for (const auto& e : merged.errors) {
            spdlog::error("{}: configuration {} from Kaa: {}", kReloadLog, config_id,
                          e.to_string());
            reason += " " + e.to_string() + ";";
        }
        reason.pop_back();
        return commands::ApplyOutcome{400, reason};
    }
    if (!merged.config->kaa.remote_config) {
        return commands::ApplyOutcome{
            400,
            "kaa.remote_config: false would stop every later push; nothing changed (turn it "
            "off in the local file)"};
    }
    if (options_.remote_config_path.empty()) {
        return commands::ApplyOutcome{500, "nowhere to keep it (no buffer file); nothing changed"};
    }
    if (auto st = save_remote_config(options_.remote_config_path, {config_id, pushed}); !st) {
        spdlog::error("{}: configuration {} from Kaa not applied: {}", kReloadLog, config_id,
                      st.error().message);
        return commands::ApplyOutcome{
            500, "cannot keep it: " + st.error().message + "; nothing changed"};
    }
    const std::vector<std::string> restart = restart_only_changes(*config_, *merged.config);
    spdlog::info("{}: applying configuration {} from Kaa (kept in {})", kReloadLog, config_id,
                 options_.remote_config_path);
    apply_reload(std::move(*merged.config));
    next_status_ = clock_.now();
    return commands::ApplyOutcome{
        200, restart.empty() ? std::string("applied")
                             : "applied; these take effect after a restart: " + join(restart)};
}

}  // namespace kaa
