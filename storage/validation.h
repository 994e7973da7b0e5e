#pragma once

#include <string_view>

#include "absl/status/status.h"
#include "storage/refresh_token.h"
#include "storage/revocation.h"

namespace tokend::storage {

// Shape checks every TokenStore applies before touching its state, so every implementation
// accepts and refuses the same input (INVALID_ARGUMENT). They do not check semantics (lifetimes,
// whether a family exists); that is the store's job. Free functions; thread-safe.

// Text the stores keep (ids, subjects, scopes, keys): valid UTF-8 without NUL bytes.
// Why: PostgreSQL text cannot hold NUL and libpq would silently truncate at it, so
// "abc\0xyz" would be stored (and revoked) as "abc".
bool IsStorableText(std::string_view text);

// A new family's first token: non-empty hash and family id, storable text, not spent.
absl::Status ValidateNewRefreshToken(const RefreshTokenRecord& record);

// A rotation: non-empty parent and child hashes that differ, a positive child lifetime, a
// non-negative grace and margin, a storable reason. (The child's other fields come from the
// parent, which the store has already checked.)
absl::Status ValidateRotateRequest(const RotateRequest& request);

// A denylist entry: non-empty storable key, storable reason, a known kind.
absl::Status ValidateRevocation(const Revocation& revocation);

}  // namespace tokend::storage
