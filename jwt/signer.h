#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "jwt/claims.h"
#include "jwt/keys.h"

namespace tokend::jwt {

// Compact JWS with header {"alg":<key's alg>,"kid":<key's kid>,"typ":"at+jwt"}. The key
// decides alg and kid. INVALID_ARGUMENT for bad custom claims or a missing exp.
absl::StatusOr<std::string> SignAccessToken(const JwtClaims& claims, const SigningKey& key);

// Lower level, for tests and vectors: signs an arbitrary protected header and payload (both
// JSON texts, used byte for byte) and returns the compact serialization.
absl::StatusOr<std::string> SignCompactJws(std::string_view header_json, std::string_view payload,
                                           const SigningKey& key);

}  // namespace tokend::jwt
