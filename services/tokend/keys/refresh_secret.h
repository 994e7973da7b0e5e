#pragma once

#include "absl/status/statusor.h"
#include "jwt/secret_data.h"
#include "services/tokend/keys/key_encryption.h"

namespace tokend::keys {

// The label of the refresh-token derivation secret: changing it changes every derived child.
inline constexpr char kRefreshDerivationLabel[] = "tokend refresh derivation v1";

// The secret core::ServiceConfig::refresh_derivation_secret needs (32 bytes): HKDF-SHA256 of the
// KEK with the label above. Why derive it: every replica holding the KEK computes the same
// secret, so a retried refresh gets the same child on any replica, and nothing more has to be
// stored or distributed. It changes when the primary KEK changes (see docs/keys.md).
absl::StatusOr<jwt::SecretData> DeriveRefreshDerivationSecret(const Kek& kek);

}  // namespace tokend::keys
