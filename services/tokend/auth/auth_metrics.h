#pragma once

#include <string_view>

#include "absl/time/time.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"

namespace tokend::auth {

// Why a call was refused, the reason label of tokend_auth_denied_total.
enum class DenyReason {
  kUnauthenticated,    // no identity, or a certificate that names none
  kForwardedCert,      // a malformed x-forwarded-client-cert, or one from an untrusted peer
  kRpc,                // the RPC is not granted
  kRateLimited,        // over the caller's rate_limit
  kIssueSubject,       // issue.subjects
  kIssueAudience,      // issue.audiences
  kIssueScope,         // issue.scopes
  kIssueClaim,         // issue.claims
  kIssueTtl,           // issue.max_ttl
  kIssueRefreshToken,  // issue.refresh_tokens
  kRevokeScope,        // revoke: any needed
};
std::string_view DenyReasonName(DenyReason reason);  // "unauthenticated", "rpc", ...

// The metric families of caller authentication and authorization, registered on the given
// registry (which must outlive this object). Label values are fixed names or RPC names,
// never identities (unbounded) or request data. Thread-safe (prometheus-cpp is).
class AuthMetrics {
 public:
  explicit AuthMetrics(prometheus::Registry& registry);
  AuthMetrics(const AuthMetrics&) = delete;
  AuthMetrics& operator=(const AuthMetrics&) = delete;

  // tokend_auth_denied_total{grpc_method, reason}; `method` is the bare RPC name.
  void RecordDenied(std::string_view method, DenyReason reason);
  // tokend_policy_reloads_total{result="ok"|"error"}, and on success
  // tokend_policy_last_reload_success_timestamp_seconds.
  void RecordPolicyReload(bool ok, absl::Time at);
  // tokend_policy_callers: the number of caller entries in the policy in force.
  void SetPolicyCallers(size_t callers);
  // tokend_audit_write_errors_total: audit lines that could not be written.
  void RecordAuditWriteError();

  prometheus::Family<prometheus::Counter>& auth_denied_total;
  prometheus::Family<prometheus::Counter>& policy_reloads_total;
  prometheus::Family<prometheus::Gauge>& policy_last_reload_success_timestamp_seconds;
  prometheus::Family<prometheus::Gauge>& policy_callers;
  prometheus::Family<prometheus::Counter>& audit_write_errors_total;

 private:
  prometheus::Counter* reload_ok_;
  prometheus::Counter* reload_error_;
  prometheus::Gauge* last_reload_;
  prometheus::Gauge* callers_;
  prometheus::Counter* audit_errors_;
};

}  // namespace tokend::auth
