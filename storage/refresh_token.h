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

// What RotateRefreshToken found and did, decided atomically in the store.
enum class RotateOutcome {
  kRotated,        // parent was live: now spent, child inserted
  kGraceRetry,     // parent already spent within the grace window, for the same child: no change
  kReuseDetected,  // parent already spent outside the window: the whole family is now revoked
  kNotFound,
  kExpired,  // parent or family past its lifetime
  kRevoked,  // the family was already revoked
};

struct RotateRequest {
  std::string parent_hash;
  RefreshTokenRecord child;  // child.parent_hash == parent_hash, same family
  absl::Time now;
  absl::Duration reuse_grace;
  std::string reuse_reason;  // recorded when a reuse revokes the family
};

struct RotateResult {
  RotateOutcome outcome;
  // The parent as it was before the call (for kRotated, kGraceRetry, kReuseDetected, kExpired,
  // kRevoked), so the caller can mint the access token and name the family.
  std::optional<RefreshTokenRecord> parent;
};

}  // namespace tokend::storage
