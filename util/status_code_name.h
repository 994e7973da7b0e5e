#pragma once

#include <array>
#include <string_view>

#include "absl/status/status.h"

namespace tokend::util {

inline constexpr int kStatusCodeCount = 17;  // OK .. UNAUTHENTICATED (google.rpc.Code)

// A status code as gRPC's Go implementation spells it: "OK", "Canceled", "Unknown",
// "InvalidArgument", ..., "Unauthenticated"; "Unknown" for a value outside 0..16. The spelling
// of every status-code label of tokend's metrics (grpc_server_handled_total{grpc_code} as
// go-grpc-prometheus writes it, so standard dashboards work, and tokend_store_errors_total{code}).
// absl::StatusCode and grpc::StatusCode share their numeric values, so one table serves both.
constexpr std::string_view StatusCodeName(int code) {
  constexpr std::array<std::string_view, kStatusCodeCount> kNames = {
      "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
      "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
      "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
      "DataLoss", "Unauthenticated"};
  if (code < 0 || code >= kStatusCodeCount) return "Unknown";
  return kNames[static_cast<size_t>(code)];
}
constexpr std::string_view StatusCodeName(absl::StatusCode code) {
  return StatusCodeName(static_cast<int>(code));
}

}  // namespace tokend::util
