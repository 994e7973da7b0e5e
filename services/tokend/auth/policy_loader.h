#pragma once

#include <cstddef>
#include <string_view>

#include "absl/status/statusor.h"
#include "services/tokend/auth/policy.h"

namespace tokend::auth {

// Bounds on a policy file; a file beyond them is refused.
struct PolicyLimits {
  static constexpr size_t kMaxFileBytes = 1 << 20;
  static constexpr size_t kMaxCallers = 10000;
  static constexpr size_t kMaxListEntries = 1000;  // per list (rpcs, subjects, scopes, ...)
};

// Parses a policy file (YAML) strictly:
//
//   version: 1                      # optional; only 1 exists
//   open_rpcs: [Verify, GetJwks]    # optional; RPCs any authenticated caller may use
//   callers:
//     - id: "spiffe://mesh.local/ns/edge/sa/gateway"   # exact, trailing-* pattern, or anonymous
//       rpcs: [Issue, Verify, Refresh, Revoke]          # bare names or /pkg.Service/Method
//       issue: {subjects: ["user:*", self], audiences: [orders], scopes: ["read:*"],
//               claims: [store_id], max_ttl: 15m, refresh_tokens: true}
//       revoke: any                                     # any | own (default own)
//       rate_limit: 200/s                               # N/s, N/m or N/h
//       rate_limit_burst: 400                           # optional; default N
//
// Unknown keys, duplicate keys, duplicate caller ids, a wrong type, "*" in `rpcs`, an `issue`
// section without Issue in `rpcs` (or the reverse), empty `issue.subjects` or
// `issue.audiences`, a non-positive max_ttl or rate: INVALID_ARGUMENT naming the line and
// the problem. Lists may hold at most PolicyLimits::kMaxListEntries entries. Never throws
// (yaml-cpp's exceptions are caught here). Thread-safe (no shared state).
absl::StatusOr<Policy> ParsePolicyYaml(std::string_view text);

// "200/s", "10/m", "3600/h" (also "/sec", "/min", "/hour") with an optional burst (0: the
// count N). INVALID_ARGUMENT for anything else or a non-positive rate.
absl::StatusOr<RateLimit> ParseRateLimit(std::string_view text, double burst = 0);

}  // namespace tokend::auth
