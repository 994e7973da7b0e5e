#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "services/tokend/auth/audit_log.h"
#include "services/tokend/auth/authorizer.h"
#include "storage/revocation.h"

namespace tokend::auth {

// The audit events of the token RPCs, built from public facts only: the caller, what was
// asked for and how it ended. None of them takes a token, so none can log one.

// An Issue call. `jti` is the minted token's id (empty unless OK).
AuditEvent IssueAuditEvent(std::string_view caller, const IssueFacts& facts,
                           const absl::Status& status, std::string_view jti);

// A Refresh call. On success, the subject, audiences and scopes of the minted access token.
AuditEvent RefreshAuditEvent(std::string_view caller, const absl::Status& status,
                             std::string_view subject, const std::vector<std::string>& audiences,
                             const std::vector<std::string>& scopes, std::string_view jti);

// A Revoke call, its "target" field storage::RevokeTargetName(target). `public_value` is the
// jti or subject for those targets; pass an empty string for access and refresh tokens (their
// text is never audited). `client_reason` is the free text the client sent, redacted with
// RedactLongTokens.
AuditEvent RevokeAuditEvent(std::string_view caller, storage::RevokeTarget target,
                            std::string_view public_value, std::string_view client_reason,
                            const absl::Status& status);

// Refresh token reuse, as core reports it: a spent refresh token came back and its family
// (`family_id`, owned by `owner`, minted for `subject`) was revoked.
AuditEvent RefreshReuseAuditEvent(std::string_view presenter, std::string_view owner,
                                  std::string_view subject, std::string_view family_id);

// A signing-key event ("rotated", "activated", "retired", "removed", "imported", ...). The kid
// is public; the key never reaches this function.
AuditEvent KeyAuditEvent(std::string_view action, std::string_view kid, std::string_view caller,
                         const absl::Status& status);

}  // namespace tokend::auth
