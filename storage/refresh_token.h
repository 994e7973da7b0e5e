#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace tokend::storage {

// One refresh token as stored: never the token itself, only its SHA-256 hash.
struct RefreshTokenRecord {
  std::string token_hash;   // 32 raw bytes: SHA-256 of the opaque token
  std::string family_id;    // the family (the "sid" claim of its access tokens)
  std::string parent_hash;  // empty for the first token of a family
  std::string subject;
  std::string client_id;  // the caller identity that obtained it
  std::vector<std::string> audiences;
  std::vector<std::string> scopes;  // the scopes granted to the family
  std::string custom_claims_json;   // "{...}" or empty: carried into refreshed access tokens
  absl::Time issued_at;
  absl::Time expires_at;               // this token's own lifetime
  absl::Time family_expires_at;        // absolute lifetime of the family
  std::optional<absl::Time> spent_at;  // set once it has been exchanged
  std::string child_hash;              // the token it was exchanged for, once spent
  bool family_revoked = false;
};

// What RotateRefreshToken decided, atomically in the store: the one enum of refresh outcomes.
// Core answers the caller from it, and the refresh metric's labels are derived from it.
enum class RotateOutcome {
  kRotated,          // parent was live: now spent, child inserted
  kGraceRetry,       // parent already spent within the grace window, for the same child: no change
  kReuseDetected,    // parent already spent outside the window: the whole family is now revoked
  kNotFound,         // no token has the parent's hash
  kExpired,          // parent or family past its lifetime
  kRevoked,          // the family was already revoked
  kClientMismatch,   // presented by another client than the parent's: refused, no change
  kScopeNotGranted,  // a requested scope is not in the family's grant: refused, no change
};

// The token a rotation inserts. Everything else it inherits from its parent (see ChildOf in
// storage/rotation_decision.h), so a child can never name another family, subject or grant.
struct ChildToken {
  std::string token_hash;   // 32 raw bytes: SHA-256 of the child token
  absl::Duration lifetime;  // child.expires_at = min(now + lifetime, the family's end); > 0
};

// Everything RotateRefreshToken needs to decide, so the store decides under its lock in one
// call: no lookup before it, no write after it.
struct RotateRequest {
  std::string parent_hash;
  // The client presenting the parent. Empty: not checked (no caller identity); otherwise it
  // must be the parent's client_id, or the outcome is kClientMismatch.
  std::string presenting_client_id;
  // The scopes asked for, a subset of the family's grant to narrow the access token to; empty
  // asks for all of them. A scope outside the grant => kScopeNotGranted. The child keeps the
  // family's full grant either way.
  std::vector<std::string> requested_scopes;
  ChildToken child;
  absl::Time now;
  absl::Duration reuse_grace;  // >= 0
  // How long the access tokens of a family may outlive the family: the longest access-token
  // lifetime plus the verifiers' clock skew. A reuse's family revocation lasts that long past
  // the family's end (see FamilyRevocation). >= 0.
  absl::Duration access_token_margin;
  std::string reuse_reason;  // recorded when a reuse revokes the family
};

struct RotateResult {
  RotateOutcome outcome;
  // The parent as it was before the call (every outcome but kNotFound), so the caller can mint
  // the access token and name the family.
  std::optional<RefreshTokenRecord> parent;
  // For kRotated, the child inserted; for kGraceRetry, the child the first call inserted
  // (rebuilt from the parent: issued at its spent_at, with this request's lifetime).
  std::optional<RefreshTokenRecord> child;
};

}  // namespace tokend::storage
