#include "storage/rotation_decision.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tokend::storage {
namespace {

// Constant-time equality of two hashes. Why: the convention compares token material without
// early exit; the storage layer may not use OpenSSL's CRYPTO_memcmp.
bool HashesEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  volatile unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = diff | static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return diff == 0;
}

bool AllGranted(const std::vector<std::string>& requested,
                const std::vector<std::string>& granted) {
  return std::all_of(requested.begin(), requested.end(), [&](const std::string& scope) {
    return std::find(granted.begin(), granted.end(), scope) != granted.end();
  });
}

}  // namespace

RotateOutcome DecideRotation(const RefreshTokenRecord& parent, const RotateRequest& request) {
  // A refresh token is bound to the client that obtained it (RFC 9700 sender constraint).
  if (!request.presenting_client_id.empty() && request.presenting_client_id != parent.client_id) {
    return RotateOutcome::kClientMismatch;
  }
  // Down-scoping may only narrow the grant, never widen it (RFC 6749 §6).
  if (!AllGranted(request.requested_scopes, parent.scopes)) {
    return RotateOutcome::kScopeNotGranted;
  }
  const absl::Time now = request.now;
  if (now >= parent.family_expires_at) return RotateOutcome::kExpired;
  if (parent.spent_at.has_value()) {
    const bool within_grace =
        request.reuse_grace > absl::ZeroDuration() && now <= *parent.spent_at + request.reuse_grace;
    if (within_grace && HashesEqual(parent.child_hash, request.child.token_hash)) {
      return parent.family_revoked ? RotateOutcome::kRevoked : RotateOutcome::kGraceRetry;
    }
    return RotateOutcome::kReuseDetected;
  }
  if (parent.family_revoked) return RotateOutcome::kRevoked;
  if (now >= parent.expires_at) return RotateOutcome::kExpired;
  return RotateOutcome::kRotated;
}

RefreshTokenRecord ChildOf(const RefreshTokenRecord& parent, const ChildToken& child,
                           absl::Time issued_at) {
  RefreshTokenRecord record;
  record.token_hash = child.token_hash;
  record.family_id = parent.family_id;
  record.parent_hash = parent.token_hash;
  record.subject = parent.subject;
  record.client_id = parent.client_id;
  record.audiences = parent.audiences;
  record.scopes = parent.scopes;  // the family keeps its grant; only an access token is narrowed
  record.custom_claims_json = parent.custom_claims_json;
  record.issued_at = issued_at;
  record.family_expires_at = parent.family_expires_at;
  record.expires_at = std::min(issued_at + child.lifetime, parent.family_expires_at);
  return record;
}

Revocation FamilyRevocation(const RefreshTokenRecord& member, absl::Time now,
                            absl::Duration access_token_margin, std::string reason) {
  Revocation revocation;
  revocation.kind = Revocation::Kind::kFamily;
  revocation.key = member.family_id;
  revocation.not_before = now;
  revocation.expires_at = std::max(member.family_expires_at, now) + access_token_margin;
  revocation.revoked_at = now;
  revocation.reason = std::move(reason);
  return revocation;
}

}  // namespace tokend::storage
