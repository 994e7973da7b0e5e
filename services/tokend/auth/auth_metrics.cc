#include "services/tokend/auth/auth_metrics.h"

#include <string>

namespace tokend::auth {

std::string_view DenyReasonName(DenyReason reason) {
  switch (reason) {
    case DenyReason::kUnauthenticated:
      return "unauthenticated";
    case DenyReason::kForwardedCert:
      return "forwarded_cert";
    case DenyReason::kRpc:
      return "rpc";
    case DenyReason::kRateLimited:
      return "rate_limited";
    case DenyReason::kIssueSubject:
      return "issue_subject";
    case DenyReason::kIssueAudience:
      return "issue_audience";
    case DenyReason::kIssueScope:
      return "issue_scope";
    case DenyReason::kIssueClaim:
      return "issue_claim";
    case DenyReason::kIssueTtl:
      return "issue_ttl";
    case DenyReason::kIssueRefreshToken:
      return "issue_refresh_token";
    case DenyReason::kRevokeScope:
      return "revoke_scope";
  }
  return "unknown";
}

AuthMetrics::AuthMetrics(prometheus::Registry& registry)
    : auth_denied_total(prometheus::BuildCounter()
                            .Name("tokend_auth_denied_total")
                            .Help("Calls refused by caller authentication or authorization")
                            .Register(registry)),
      policy_reloads_total(prometheus::BuildCounter()
                               .Name("tokend_policy_reloads_total")
                               .Help("Policy file loads, by result (error: the last good "
                                     "policy stays in force)")
                               .Register(registry)),
      policy_last_reload_success_timestamp_seconds(
          prometheus::BuildGauge()
              .Name("tokend_policy_last_reload_success_timestamp_seconds")
              .Help("When the policy in force was loaded (Unix seconds)")
              .Register(registry)),
      policy_callers(prometheus::BuildGauge()
                         .Name("tokend_policy_callers")
                         .Help("Caller entries in the policy in force")
                         .Register(registry)),
      audit_write_errors_total(prometheus::BuildCounter()
                                   .Name("tokend_audit_write_errors_total")
                                   .Help("Audit log lines that could not be written")
                                   .Register(registry)),
      reload_ok_(&policy_reloads_total.Add({{"result", "ok"}})),
      reload_error_(&policy_reloads_total.Add({{"result", "error"}})),
      last_reload_(&policy_last_reload_success_timestamp_seconds.Add({})),
      callers_(&policy_callers.Add({})),
      audit_errors_(&audit_write_errors_total.Add({})) {}

void AuthMetrics::RecordDenied(std::string_view method, DenyReason reason) {
  auth_denied_total
      .Add({{"grpc_method", std::string(method)}, {"reason", std::string(DenyReasonName(reason))}})
      .Increment();
}

void AuthMetrics::RecordPolicyReload(bool ok, absl::Time at) {
  if (ok) {
    reload_ok_->Increment();
    last_reload_->Set(absl::ToDoubleSeconds(at - absl::UnixEpoch()));
  } else {
    reload_error_->Increment();
  }
}

void AuthMetrics::SetPolicyCallers(size_t callers) { callers_->Set(static_cast<double>(callers)); }

void AuthMetrics::RecordAuditWriteError() { audit_errors_->Increment(); }

}  // namespace tokend::auth
