#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/tokend/auth/auth_metrics.h"
#include "services/tokend/auth/identity.h"
#include "services/tokend/auth/policy.h"
#include "services/tokend/auth/policy_watcher.h"
#include "services/tokend/auth/rate_limiter.h"
#include "storage/revocation.h"

namespace tokend::auth {

// What an Issue request asks for, as the policy sees it (from the request, before core).
struct IssueFacts {
  std::string subject;
  std::vector<std::string> audiences;
  std::vector<std::string> scopes;
  std::vector<std::string> claim_names;  // custom claim names
  std::optional<absl::Duration> ttl;     // unset: the server's default
  bool refresh_token = false;
};

// What an authorized Issue must be adjusted with.
struct IssueGrant {
  // Set when the request names no ttl and the server's default exceeds the caller's max_ttl:
  // the token is then minted with max_ttl rather than refused.
  std::optional<absl::Duration> ttl;
};

// What one admitted call may do: the caller and the policy snapshot it was admitted under, so
// the checks that follow (CheckIssue, CheckRevoke) use the same policy even across a reload.
// Copyable, immutable, thread-safe.
class CallPermit {
 public:
  // For an adapter without access control (unit tests of the adapter alone): everything is
  // allowed and Revoke checks ownership against `client_id` as core always did.
  static CallPermit Unrestricted(std::string client_id);

  const CallerIdentity& caller() const { return caller_; }
  // The client_id to record in tokens and to bind refresh tokens to.
  const std::string& client_id() const { return caller_.id; }

  // PERMISSION_DENIED naming the first missing permission (issue.subjects, issue.audiences,
  // issue.scopes, issue.claims, issue.max_ttl, issue.refresh_tokens) — never what the policy
  // would have allowed instead.
  absl::StatusOr<IssueGrant> CheckIssue(const IssueFacts& facts) const;

  // The client_id core must check the token's ownership against: empty when ownership does
  // not matter (revoke: any, or a refresh token — whoever holds one may revoke it, RFC 7009),
  // else the caller's identity (revoke: own, for access tokens). PERMISSION_DENIED for a
  // token id or subject without revoke: any (their owner cannot be checked).
  absl::StatusOr<std::string> CheckRevoke(storage::RevokeTarget target) const;

 private:
  friend class Authorizer;
  CallPermit() = default;
  absl::Status Deny(DenyReason reason, std::string_view what, std::string_view permission) const;

  CallerIdentity caller_;
  std::string method_;                    // the bare RPC name, for metrics
  std::shared_ptr<const Policy> policy_;  // keeps rule_ alive
  const CallerRule* rule_ = nullptr;      // the caller's entry; null if it has none
  bool unrestricted_ = false;             // Unrestricted()
  absl::Duration server_default_ttl_;
  AuthMetrics* metrics_ = nullptr;
};

// The verdict on one call: a permit, or the refusal and (when known) who was refused.
class Admission {
 public:
  static Admission Admitted(CallPermit permit);
  static Admission Refused(absl::Status status, std::string caller_id);

  bool ok() const { return permit_.has_value(); }
  const absl::Status& status() const { return status_; }
  const CallPermit& permit() const { return *permit_; }  // only when ok()
  // The caller's identity, or empty when it could not be established.
  const std::string& caller_id() const { return caller_id_; }

 private:
  absl::Status status_;
  std::optional<CallPermit> permit_;
  std::string caller_id_;
};

// Decides whether a caller may make a call, deny by default:
//   - no identity and no `anonymous` entry                  -> UNAUTHENTICATED
//   - the RPC (a full method name) in neither the caller's entry nor, for authenticated
//     callers, the policy's open_rpcs                        -> PERMISSION_DENIED
//   - over the entry's rate_limit                            -> RESOURCE_EXHAUSTED
// PERMISSION_DENIED messages name the caller's own identity and the missing permission, never
// other entries or what would have been allowed. Every refusal is counted in
// tokend_auth_denied_total. Generic over RPC names: an RPC added later is refused until a
// policy grants it by name. Thread-safe; all references must outlive it.
class Authorizer {
 public:
  struct Options {
    absl::Duration server_default_ttl = absl::Minutes(10);  // core's access_ttl_default
  };

  // `limiter` and `metrics` may be null.
  Authorizer(const PolicySource& policies, RateLimiter* limiter, AuthMetrics* metrics,
             Options options);

  Admission Admit(const CallerIdentity& caller, std::string_view full_method) const;

  // Counts a refusal made before Admit (authentication) under `full_method`.
  void RecordDenied(std::string_view full_method, DenyReason reason) const;

 private:
  const PolicySource& policies_;
  RateLimiter* const limiter_;
  AuthMetrics* const metrics_;
  const Options options_;
};

}  // namespace tokend::auth
