#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace tokend::grpc {

// The one place where an absl::Status becomes a ::grpc::Status, and where a failed call is
// logged, once, with its method and code. The codes map one to one (absl mirrors gRPC).
// Messages of INTERNAL, UNKNOWN and DATA_LOSS are logged but replaced by a generic text for the
// client, so server internals (SQLSTATEs, file names) are not disclosed. Log lines never carry
// request data: the message is passed through RedactForLog first. Thread-safe.
::grpc::Status ToGrpcStatus(const absl::Status& status, std::string_view method);

// `message` with every run of 20+ token-like characters (base64url and '.') replaced by
// "<redacted>": defense in depth so a message that quotes a token or secret cannot leak it
// into the log.
std::string RedactForLog(std::string_view message);

}  // namespace tokend::grpc
