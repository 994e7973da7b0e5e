#include "services/tokend/auth/authorizer.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/tokend/auth/absl_view.h"

namespace tokend::auth {
namespace {

bool AnyMatches(const std::vector<Pattern>& patterns, std::string_view value) {
  return std::ranges::any_of(patterns,
                             [value](const Pattern& pattern) { return pattern.Matches(value); });
}

}  // namespace

// --- CallPermit ---------------------------------------------------------------------------------

CallPermit CallPermit::Unrestricted(std::string client_id) {
  CallPermit permit;
  permit.caller_.id = std::move(client_id);
  permit.caller_.source = IdentitySource::kPeerCertificate;
  permit.unrestricted_ = true;
  return permit;
}

absl::Status CallPermit::Deny(DenyReason reason, std::string_view what,
                              std::string_view permission) const {
  if (metrics_ != nullptr) metrics_->RecordDenied(method_, reason);
  // The caller's own identity and the permission it lacks; nothing about the policy's content.
  return absl::PermissionDeniedError(
      absl::StrCat("caller \"", caller_.id, "\" may not ", ToAbsl(what),
                   " (missing permission: ", ToAbsl(permission), ")"));
}

absl::StatusOr<IssueGrant> CallPermit::CheckIssue(const IssueFacts& facts) const {
  IssueGrant grant;
  if (unrestricted_ || (policy_ != nullptr && policy_->allow_all)) return grant;
  // Issue reached through open_rpcs has no issue section: nothing may be minted.
  if (rule_ == nullptr || !rule_->issue.has_value()) {
    return Deny(DenyReason::kIssueSubject, "issue tokens for this subject", "issue.subjects");
  }
  const IssueRule& issue = *rule_->issue;
  // "self" is the caller's own identity, so a service can mint its own token without being
  // able to mint anybody else's.
  const bool subject_ok = (issue.subject_self && facts.subject == caller_.id) ||
                          AnyMatches(issue.subjects, facts.subject);
  if (!subject_ok) {
    return Deny(DenyReason::kIssueSubject, "issue tokens for this subject", "issue.subjects");
  }
  for (const std::string& audience : facts.audiences) {
    if (!AnyMatches(issue.audiences, audience)) {
      return Deny(DenyReason::kIssueAudience, "issue tokens for a requested audience",
                  "issue.audiences");
    }
  }
  for (const std::string& scope : facts.scopes) {
    if (!AnyMatches(issue.scopes, scope)) {
      return Deny(DenyReason::kIssueScope, "grant a requested scope", "issue.scopes");
    }
  }
  for (const std::string& claim : facts.claim_names) {
    if (!AnyMatches(issue.claims, claim)) {
      return Deny(DenyReason::kIssueClaim, "set a requested custom claim", "issue.claims");
    }
  }
  if (facts.refresh_token && !issue.refresh_tokens) {
    return Deny(DenyReason::kIssueRefreshToken, "obtain refresh tokens", "issue.refresh_tokens");
  }
  if (issue.max_ttl.has_value()) {
    if (facts.ttl.has_value()) {
      if (*facts.ttl > *issue.max_ttl) {
        return Deny(DenyReason::kIssueTtl, "request this token lifetime", "issue.max_ttl");
      }
    } else if (server_default_ttl_ > *issue.max_ttl) {
      grant.ttl = *issue.max_ttl;
    }
  }
  return grant;
}

absl::StatusOr<std::string> CallPermit::CheckRevoke(storage::RevokeTarget target) const {
  if (unrestricted_) return caller_.id;
  const bool any = (policy_ != nullptr && policy_->allow_all) ||
                   (rule_ != nullptr && rule_->revoke == RevokeScope::kAny);
  if (any) return std::string();
  // RFC 7009 §2.1: a token may be revoked by the client it was issued to; core checks the
  // token's client_id (a refresh token's owner) against this id. Holding a token is no proof.
  if (target == storage::RevokeTarget::kAccessToken ||
      target == storage::RevokeTarget::kRefreshToken) {
    return caller_.id;
  }
  // A bare jti or a subject names tokens whose owner cannot be checked.
  return Deny(DenyReason::kRevokeScope,
              target == storage::RevokeTarget::kSubject ? "revoke every token of a subject"
                                                        : "revoke a token by its id",
              "revoke: any");
}

// --- Admission ----------------------------------------------------------------------------------

Admission Admission::Admitted(CallPermit permit) {
  Admission admission;
  admission.caller_id_ = permit.client_id();
  admission.permit_ = std::move(permit);
  return admission;
}

Admission Admission::Refused(absl::Status status, std::string caller_id) {
  Admission admission;
  admission.status_ = std::move(status);
  admission.caller_id_ = std::move(caller_id);
  return admission;
}

// --- Authorizer ---------------------------------------------------------------------------------

Authorizer::Authorizer(const PolicySource& policies, RateLimiter* limiter, AuthMetrics* metrics,
                       Options options)
    : policies_(policies), limiter_(limiter), metrics_(metrics), options_(options) {}

void Authorizer::RecordDenied(std::string_view full_method, DenyReason reason) const {
  if (metrics_ != nullptr) metrics_->RecordDenied(ShortMethodName(full_method), reason);
}

Admission Authorizer::Admit(const CallerIdentity& caller, std::string_view full_method) const {
  CallPermit permit;
  permit.caller_ = caller;
  permit.method_ = std::string(ShortMethodName(full_method));
  permit.policy_ = policies_.Current();
  permit.server_default_ttl_ = options_.server_default_ttl;
  permit.metrics_ = metrics_;
  const Policy& policy = *permit.policy_;
  if (policy.allow_all) return Admission::Admitted(std::move(permit));

  permit.rule_ = policy.Find(caller);
  const std::string caller_id = caller.anonymous() ? std::string() : caller.id;
  if (caller.anonymous() && permit.rule_ == nullptr) {
    RecordDenied(full_method, DenyReason::kUnauthenticated);
    return Admission::Refused(
        absl::UnauthenticatedError(
            "no client identity: present a client certificate (mTLS) or call through a "
            "trusted proxy that forwards one"),
        caller_id);
  }
  const bool granted =
      (permit.rule_ != nullptr && permit.rule_->rpcs.contains(ToAbsl(full_method))) ||
      (!caller.anonymous() && policy.open_rpcs.contains(ToAbsl(full_method)));
  if (!granted) {
    RecordDenied(full_method, DenyReason::kRpc);
    return Admission::Refused(
        absl::PermissionDeniedError(absl::StrCat("caller \"", caller.id, "\" may not call ",
                                                 permit.method_, " (missing permission: rpcs)")),
        caller_id);
  }
  if (permit.rule_ != nullptr && permit.rule_->rate_limit.has_value() && limiter_ != nullptr &&
      !limiter_->TryAcquire(caller.id, *permit.rule_->rate_limit)) {
    RecordDenied(full_method, DenyReason::kRateLimited);
    return Admission::Refused(
        absl::ResourceExhaustedError(
            absl::StrCat("caller \"", caller.id, "\" is over its rate limit; retry later")),
        caller_id);
  }
  return Admission::Admitted(std::move(permit));
}

}  // namespace tokend::auth
