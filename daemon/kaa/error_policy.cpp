// The /error code table (see error_policy.hpp): only payload refusals delete data.
#include "daemon/kaa/error_policy.hpp"

namespace kaa::uplink {

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
