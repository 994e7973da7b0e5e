#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/time/time.h"

namespace tokend::storage {

// What a Revoke request names: the one definition of this concept. Core performs it (an access
// token or a token id becomes a Kind::kTokenId entry, a refresh token its family's kFamily
// entry, a subject a kSubject entry), the caller policy decides who may name what, and the
// revocation metric and the audit trail label it by RevokeTargetName. It lives here, beside the
// Revocation it becomes, because storage is the lowest layer core and auth share.
enum class RevokeTarget { kAccessToken, kTokenId, kRefreshToken, kSubject };
inline constexpr size_t kRevokeTargetCount = 4;

// "access_token", "token_id", "refresh_token", "subject" (the kind label of
// tokend_revocations_total, the target field of an audit line); "unknown" out of range.
constexpr std::string_view RevokeTargetName(RevokeTarget target) {
  switch (target) {
    case RevokeTarget::kAccessToken:
      return "access_token";
    case RevokeTarget::kTokenId:
      return "token_id";
    case RevokeTarget::kRefreshToken:
      return "refresh_token";
    case RevokeTarget::kSubject:
      return "subject";
  }
  return "unknown";
}
static_assert(RevokeTargetName(static_cast<RevokeTarget>(kRevokeTargetCount)) == "unknown",
              "kRevokeTargetCount must count every RevokeTarget");

// One denylist entry. Tokens it covers are invalid; the entry can be pruned after
// `expires_at` (when every token it could cover has expired).
struct Revocation {
  enum class Kind {
    kTokenId,  // key = a jti
    kFamily,   // key = a refresh family id: its refresh tokens and the access tokens with that sid
    kSubject,  // key = a subject: every token with iat < not_before
  };
  Kind kind = Kind::kTokenId;
  std::string key;
  absl::Time not_before = absl::InfinitePast();  // kSubject: tokens issued before are revoked
  absl::Time expires_at;
  absl::Time revoked_at;
  std::string reason;
};

}  // namespace tokend::storage
