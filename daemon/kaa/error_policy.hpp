#pragma once
// What an /error reply from Kaa means for the data it refused. 1/KP says only "HTTP status
// code" and no list is published, so the gateway deletes data only when the code says the
// payload itself can never be accepted; every other code means "later": keep it, back off,
// send again. This one table decides it for samples (2/DCP) and metadata (10/EPMP).
//
//   code                          action  why
//   400 Bad Request               drop    the payload is malformed for Kaa
//   413 Payload Too Large         drop    this payload will never fit (batches are bounded)
//   415 Unsupported Media Type    drop    the content type/format is refused
//   422 Unprocessable Entity      drop    well-formed, but refused as it is
//   401, 403 (auth)               hold    credentials can be fixed, tokens reactivated
//   404 Not Found                 hold    the endpoint may not be registered yet
//   408 Request Timeout           hold    temporary by definition
//   429 Too Many Requests         hold    rate limited: slow down, do not delete
//   any 5xx                       hold    the platform is failing
//   any other code, no code, a malformed reply, silence: hold

#include <string>

namespace kaa::uplink {

/// What to do with the samples (or metadata) of a request Kaa answered on /error.
enum class ErrorAction {
    kDrop,  // the payload can never succeed: delete it, count it, log it
    kHold,  // try again later: keep it, back off, send it again
};

/// The action for an /error reply's statusCode; codes below 0 stand for "no usable code".
ErrorAction action_for_status(int status_code);

/// Reads an /error payload {"statusCode": int, "reasonPhrase": "..."}: `code` 0 when it has
/// no usable code (malformed, missing, out of range), `reason` bounded and on one line.
void parse_error_payload(const std::string& payload, int& code, std::string& reason);
/// "drop" or "hold", for logs and tests.
const char* to_string(ErrorAction action);

}  // namespace kaa::uplink
