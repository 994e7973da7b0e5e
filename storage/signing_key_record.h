#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace tokend::storage {

// Where a signing key is in its life. Every key moves forward only:
//   kNext    published in the JWKS, not signing yet (publish-before-use)
//   kActive  signing (at most one key at a time)
//   kRetired published, not signing, until every token it signed has expired
//   kRemoved gone from the JWKS; its encrypted private key is erased
enum class KeyState { kNext, kActive, kRetired, kRemoved };

// "next", "active", "retired", "removed" (the signing_keys.state column).
std::string_view KeyStateName(KeyState state);
std::optional<KeyState> ParseKeyState(std::string_view name);

// One signing key as a KeyStore keeps it. The private half is only ever present encrypted:
// `encrypted_private_key` is an envelope sealed by the key-management layer (opaque to storage)
// under the key-encryption key named by `kek_id`. Everything else is public.
struct SigningKeyRecord {
  std::string kid;
  std::string algorithm;  // JWS "alg": "EdDSA", "ES256", "RS256"
  KeyState state = KeyState::kNext;
  std::string encrypted_private_key;  // empty once removed
  std::string public_jwk_json;        // the JWK published in the JWKS
  std::string kek_id;                 // which key-encryption key sealed it
  std::string origin = "generated";   // "generated" or "imported"
  absl::Time created_at;              // first published
  absl::Time activates_at;            // kNext: planned start of signing; else when it began
  absl::Time retires_at = absl::InfiniteFuture();    // kRetired/kRemoved: when it stopped signing
  absl::Time remove_after = absl::InfiniteFuture();  // kRetired: when it may leave the JWKS
  absl::Time removed_at = absl::InfiniteFuture();    // kRemoved: when it left
  std::string removal_reason;                        // kRemoved: "expired" or the operator's reason
};

// Shape checks every KeyStore applies before inserting (INVALID_ARGUMENT, naming the field, never
// a value): a non-empty storable kid of at most 256 bytes, a non-empty algorithm, JWK, kek_id and
// encrypted key, a state other than kRemoved, finite created_at and activates_at, storable text
// throughout. Semantics (which key is active) are the store's job.
absl::Status ValidateNewSigningKey(const SigningKeyRecord& record);

}  // namespace tokend::storage
