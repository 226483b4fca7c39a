// The uplink's side of Kaa's answers: confirmations, re-sends, refusals that drop data
// and refusals that hold it (error_policy.hpp), and the logs that say so.
#include <chrono>
#include <cstdint>
#include <limits>

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "core/printable.hpp"
#include "daemon/kaa/sample_payload.hpp"
#include "daemon/kaa/uplink.hpp"

namespace kaa::uplink {
namespace {

// The component named in log lines, under a name of its own: with KAA_UNITY_BUILD this
// file shares one translation unit with the rest of its library.
constexpr const char* kRepliesLog = "kaa";

/// Refusals longer than this are logged once (and their end).
constexpr auto kLongRefusal = std::chrono::minutes(1);

/// A read time as UTC text for logs.
std::string readable_time(int64_t read_ms) {
    if (!read_time_in_range(read_ms))
        return std::to_string(read_ms) + " ms";
    std::string out;
    append_read_time(out, read_ms, config::TimestampFormat::kIso8601);
    return out.substr(1, out.size() - 2);
}

const char* what(Extension e) {
    return e == Extension::kMetadata ? "metadata" : "samples";
}

}  // namespace

Uplink::Request* Uplink::find_request(uint32_t rid) {
    auto it = in_flight_.find(rid);
    return it == in_flight_.end() ? nullptr : &it->second;
}

void Uplink::remove_batch(const Request& req, uint64_t& counter) {
    removals_.insert(removals_.end(), req.sample_ids.begin(), req.sample_ids.end());
    counter += req.sample_ids.size();
}

void Uplink::confirm(uint32_t rid) {
    Request* found = find_request(rid);
    if (found == nullptr)
        return;
    Request& req = *found;
    if (req.extension == Extension::kDataCollection) {
        remove_batch(req, counters_.samples_delivered);
        // For the power-cut test: when a batch stopped being in flight, by the wall clock.
        spdlog::debug("{}: confirmed request {} of meter {}: {} samples read {}..{} ms, at {} ms",
                      kRepliesLog, rid, endpoint(req.meter).meter, req.sample_ids.size(),
                      req.first_read_ms, req.last_read_ms, clock_.wall_ms());
    } else {
        MetadataState& m = metadata_[req.meter];
        --m.parts_in_flight;
        ++counters_.metadata_confirmed;
        if (m.parts_in_flight == 0 && !m.dirty) {
            spdlog::info("{}: metadata of meter {} (token {}) accepted", kRepliesLog,
                         endpoint(req.meter).meter, endpoint(req.meter).token);
        }
    }
    note_accepted(req.meter);
    forget(rid);
}

void Uplink::retry(uint32_t rid, const std::string& why) {
    Request* found = find_request(rid);
    if (found == nullptr)
        return;
    Request& req = *found;
    if (req.extension == Extension::kDataCollection) {
        store_.release(req.sample_ids);
        ++counters_.batches_resent;
    } else {
        --metadata_[req.meter].parts_in_flight;
        metadata_[req.meter].dirty = true;
        metadata_[req.meter].full = true;
    }
    if (!why.empty()) {
        int suppressed = 0;
        if (log_limiter_.allow("retry:" + endpoint(req.meter).meter, suppressed)) {
            spdlog::warn("{}: {} of meter {} (request {}): {}; sending again{}", kRepliesLog,
                         what(req.extension), endpoint(req.meter).meter, rid, why,
                         suppressed > 0 ? fmt::format(" ({} more like this)", suppressed) : "");
        }
    }
    forget(rid);
}

void Uplink::reject(uint32_t rid, int code, const std::string& reason) {
    Request* found = find_request(rid);
    if (found == nullptr)
        return;
    Request& req = *found;
    if (req.extension == Extension::kDataCollection) {
        remove_batch(req, counters_.samples_rejected);
        int suppressed = 0;
        if (log_limiter_.allow("reject:" + endpoint(req.meter).token + std::to_string(code),
                               suppressed)) {
            spdlog::error(
                "{}: Kaa rejected {} samples of meter {} (token {}, read {} .. {}) with {} '{}'; "
                "dropped them, as sending again would fail the same way ({} dropped "
                "so far{})",
                kRepliesLog, req.sample_ids.size(), endpoint(req.meter).meter,
                endpoint(req.meter).token, readable_time(req.first_read_ms),
                readable_time(req.last_read_ms), code, reason, counters_.samples_rejected,
                suppressed > 0 ? fmt::format("; {} more rejections", suppressed) : "");
        }
    } else {
        // Kept as they are: the next change of these keys (or a reconnect) tries again.
        --metadata_[req.meter].parts_in_flight;
        spdlog::error(
            "{}: Kaa rejected the metadata keys {} of meter {} (token {}) with {} '{}'; "
            "they are sent again when they change",
            kRepliesLog, fmt::join(req.keys, ", "), endpoint(req.meter).meter,
            endpoint(req.meter).token, code, reason);
    }
    forget(rid);
}

void Uplink::log_error_reply(const ParsedReply& reply, size_t meter, int code,
                             const std::string& reason) {
    const std::string& name = endpoint(meter).meter;
    last_error_ = LastErrorReply{code, reason, name, clock_.wall_ms()};
    int suppressed = 0;
    if (log_limiter_.allow("error:" + reply.token + ":" + std::to_string(code), suppressed)) {
        spdlog::error("{}: /error {} '{}' for {} of meter {} (token {}), request {}{}", kRepliesLog,
                      code, reason, what(reply.extension), name, reply.token, reply.request_id,
                      suppressed > 0 ? fmt::format(" ({} more like this)", suppressed) : "");
    }
}

void Uplink::note_stray_reply(const ParsedReply& reply) {
    ++counters_.stray_replies;
    if (reply.success)
        return;  // a late /status after a resend is normal, and a forged one changes nothing
    // One limiter key for all of them: tokens and ids of strays are outside input.
    int suppressed = 0;
    if (log_limiter_.allow("stray-error", suppressed)) {
        spdlog::warn(
            "{}: ignored an /error for {} request {} of token {}: not a request in flight "
            "(never sent, already answered, or sent again since){}",
            kRepliesLog, what(reply.extension), reply.request_id, printable(reply.token, 64),
            suppressed > 0 ? fmt::format(" ({} more since the last such line)", suppressed) : "");
    }
}

void Uplink::handle_message(const std::string& topic, const std::string& payload) {
    handle_reply(topic, payload.size(), &payload);
}

void Uplink::handle_oversized_message(const std::string& topic, size_t bytes) {
    handle_reply(topic, bytes, nullptr);
}

void Uplink::handle_reply(const std::string& topic, size_t bytes, const std::string* payload) {
    const auto reply = topics_.parse_reply(topic);
    if (!reply) {
        spdlog::debug("{}: ignoring message on {}", kRepliesLog, printable(topic));
        return;
    }
    auto it = in_flight_.find(reply->request_id);
    const bool ours = it != in_flight_.end() && it->second.extension == reply->extension &&
                      endpoint(it->second.meter).token == reply->token;
    if (!reply->success)
        ++counters_.errors_received;
    if (!ours) {
        note_stray_reply(*reply);
        return;
    }
    if (reply->success) {
        if (settings_.delivery == config::Delivery::kStatus)
            confirm(reply->request_id);
        return;
    }
    int code = 0;
    std::string reason;
    if (payload != nullptr && bytes <= kMaxErrorPayloadBytes) {
        parse_error_payload(*payload, code, reason);
    } else {
        // Not parsed: a real /error is a few hundred bytes. Held and resent like code 0.
        reason = fmt::format("an error payload of {} bytes, not read (over {} KiB)", bytes,
                             kMaxErrorPayloadBytes / 1024);
    }
    log_error_reply(*reply, it->second.meter, code, reason);
    // error_policy.hpp: only a refusal of the payload itself deletes data.
    if (action_for_status(code) == ErrorAction::kDrop) {
        reject(reply->request_id, code, reason);
    } else {
        counters_.samples_held += it->second.sample_ids.size();
        hold_meter(it->second.meter, code, reason);
        retry(reply->request_id, fmt::format("Kaa answered {} '{}'", code, reason));
    }
}

void Uplink::hold_meter(size_t meter, int code, const std::string& reason) {
    MeterHold& h = holds_[meter];
    const auto now = clock_.now();
    h.until = now + h.backoff.next_delay();
    if (!h.since)
        h.since = now;
    if (!h.announced && now - *h.since >= kLongRefusal) {
        h.announced = true;
        spdlog::warn(
            "{}: Kaa has refused the data of meter {} (token {}) for {} s, last with "
            "{} '{}'; every sample is kept and sent again with backoff (up to {} s)",
            kRepliesLog, endpoint(meter).meter, endpoint(meter).token,
            std::chrono::duration_cast<std::chrono::seconds>(now - *h.since).count(), code, reason,
            std::chrono::duration_cast<std::chrono::seconds>(settings_.retry_max_delay).count());
    }
}

void Uplink::note_accepted(size_t meter) {
    MeterHold& h = holds_[meter];
    if (h.announced) {
        spdlog::info(
            "{}: Kaa accepts the data of meter {} (token {}) again after {} s of "
            "refusals",
            kRepliesLog, endpoint(meter).meter, endpoint(meter).token,
            std::chrono::duration_cast<std::chrono::seconds>(clock_.now() - *h.since).count());
    }
    h.backoff.reset();
    h.until.reset();
    h.since.reset();
    h.announced = false;
}

}  // namespace kaa::uplink
