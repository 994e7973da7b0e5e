#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "jwt/secret_data.h"

namespace tokend::core {

// Opaque refresh tokens: "rt1." + base64url(32 random bytes), 47 characters. Only the
// SHA-256 hash is ever stored. A rotated child is derived from its parent with HMAC-SHA-256
// under a server secret, so a retry within the grace window yields the same child without the
// child ever being stored in clear, and nobody without the secret can compute it.
// Free functions; thread-safe.
inline constexpr std::string_view kRefreshTokenPrefix = "rt1.";
inline constexpr size_t kRefreshTokenRandomBytes = 32;  // 256 bits
inline constexpr size_t kRefreshTokenLength = 4 + 43;

// A fresh token from OpenSSL's CSPRNG; INTERNAL if the RNG fails.
absl::StatusOr<jwt::SecretData> GenerateRefreshToken();

// The child of `parent`: prefix + base64url(HMAC-SHA-256(secret, parent)). Same shape as a
// generated token. INTERNAL if HMAC fails.
absl::StatusOr<jwt::SecretData> DeriveChildRefreshToken(const jwt::SecretData& secret,
                                                        std::string_view parent);

// True if `token` has the exact shape: prefix, length, base64url charset and canonical
// trailing bits. Checked before any lookup so junk never reaches the store.
bool IsWellFormedRefreshToken(std::string_view token);

// SHA-256 of the token text: 32 raw bytes, the store's key. INTERNAL if OpenSSL fails (in
// OpenSSL 3 a digest can fail, e.g. with a broken provider): a failure must never become a
// value, or every token would hash alike.
absl::StatusOr<std::string> HashRefreshToken(std::string_view token);

// `bytes` random bytes from OpenSSL's CSPRNG; INTERNAL if the RNG fails.
absl::StatusOr<std::string> RandomBytes(size_t bytes);

// 128 random bits, base64url: jti values and refresh family ids.
absl::StatusOr<std::string> NewRandomId();

}  // namespace tokend::core
