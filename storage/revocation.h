#pragma once

#include <cstdint>
#include <string>

#include "absl/time/time.h"

namespace tokend::storage {

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
