#include "services/tokend/auth/call_audit.h"

#include <string>

namespace tokend::auth {

AuditEvent IssueAuditEvent(std::string_view caller, const IssueFacts& facts,
                           const absl::Status& status, std::string_view jti) {
  AuditEvent event;
  event.event = "issue";
  event.caller = std::string(caller);
  event.subject = facts.subject;
  event.audiences = facts.audiences;
  event.scopes = facts.scopes;
  event.jti = std::string(jti);
  SetAuditStatus(status, event);
  event.extra.emplace_back("with_refresh_token", facts.refresh_token ? "true" : "false");
  if (!facts.claim_names.empty()) {
    std::string names;
    for (const std::string& name : facts.claim_names) {
      if (!names.empty()) names.push_back(',');
      names.append(name);
    }
    event.extra.emplace_back("claim_names", names);
  }
  return event;
}

AuditEvent RefreshAuditEvent(std::string_view caller, const absl::Status& status,
                             std::string_view subject, const std::vector<std::string>& audiences,
                             const std::vector<std::string>& scopes, std::string_view jti) {
  AuditEvent event;
  event.event = "refresh";
  event.caller = std::string(caller);
  event.subject = std::string(subject);
  event.audiences = audiences;
  event.scopes = scopes;
  event.jti = std::string(jti);
  SetAuditStatus(status, event);
  return event;
}

AuditEvent RevokeAuditEvent(std::string_view caller, storage::RevokeTarget target,
                            std::string_view public_value, std::string_view client_reason,
                            const absl::Status& status) {
  AuditEvent event;
  event.event = "revoke";
  event.caller = std::string(caller);
  if (target == storage::RevokeTarget::kSubject) event.subject = std::string(public_value);
  if (target == storage::RevokeTarget::kTokenId) event.jti = std::string(public_value);
  SetAuditStatus(status, event);
  event.extra.emplace_back("target", std::string(storage::RevokeTargetName(target)));
  if (!client_reason.empty()) {
    event.extra.emplace_back("revoke_reason", RedactLongTokens(client_reason));
  }
  return event;
}

AuditEvent RefreshReuseAuditEvent(std::string_view presenter, std::string_view owner,
                                  std::string_view subject, std::string_view family_id) {
  AuditEvent event;
  event.event = "refresh_reuse";
  event.caller = std::string(presenter);
  event.subject = std::string(subject);
  // Reuse is answered with a refusal, and the whole family is revoked.
  event.outcome = "denied";
  event.code = "UNAUTHENTICATED";
  event.reason = "refresh token reuse detected; token family revoked";
  event.extra = {{"family_id", std::string(family_id)}, {"owner", std::string(owner)}};
  return event;
}

AuditEvent KeyAuditEvent(std::string_view action, std::string_view kid, std::string_view caller,
                         const absl::Status& status) {
  AuditEvent event;
  event.event = "key";
  event.caller = std::string(caller);
  SetAuditStatus(status, event);
  event.extra = {{"action", std::string(action)}, {"kid", std::string(kid)}};
  return event;
}

}  // namespace tokend::auth
