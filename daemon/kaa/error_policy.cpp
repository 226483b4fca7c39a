// The /error code table (see error_policy.hpp): only payload refusals delete data.
#include "daemon/kaa/error_policy.hpp"

#include <limits>

#include <nlohmann/json.hpp>

#include "core/printable.hpp"

namespace kaa::uplink {
namespace {

/// The statusCode as an int, or 0 when it is none or too large for one: narrowed, 4294967696
/// would read as 400 and drop the batch.
int status_code_of(const nlohmann::json& code) {
    if (code.is_number_unsigned())
        return code.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int>::max())
                   ? code.get<int>()
                   : 0;
    if (code.is_number_integer()) {
        const auto v = code.get<int64_t>();
        const bool fits =
            v >= std::numeric_limits<int>::min() && v <= std::numeric_limits<int>::max();
        return fits ? static_cast<int>(v) : 0;
    }
    return 0;
}

}  // namespace

void parse_error_payload(const std::string& payload, int& code, std::string& reason) {
    code = 0;
    reason.clear();
    const auto j = nlohmann::json::parse(payload, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
        reason = "unreadable error payload";
        return;
    }
    if (auto it = j.find("statusCode"); it != j.end()) {
        code = status_code_of(*it);
    }
    if (auto it = j.find("reasonPhrase"); it != j.end() && it->is_string()) {
        reason = printable(it->get_ref<const std::string&>());  // bounded, one line
    }
}

ErrorAction action_for_status(int status_code) {
    switch (status_code) {
        case 400:
        case 413:
        case 415:
        case 422:
            return ErrorAction::kDrop;
        default:
            return ErrorAction::kHold;
    }
}

const char* to_string(ErrorAction action) {
    return action == ErrorAction::kDrop ? "drop" : "hold";
}

}  // namespace kaa::uplink
