#pragma once

#include "absl/status/statusor.h"
#include "storage/refresh_token.h"

namespace tokend::storage {

// What a store must do with a parent it found (and locked) for RotateRefreshToken. Every
// TokenStore calls this one function, so all implementations decide alike.
enum class RotationStep {
  kRotate,      // mark the parent spent, insert the child => RotateOutcome::kRotated
  kGraceRetry,  // no change => RotateOutcome::kGraceRetry
  kReuse,       // revoke the family (once), add a kFamily revocation => kReuseDetected
  kRevoked,     // no change => RotateOutcome::kRevoked
  kExpired,     // no change => RotateOutcome::kExpired
};

// The rules, in order (the first that applies wins):
//  1. the child names another family                           => INVALID_ARGUMENT
//  2. now >= parent.family_expires_at                          => kExpired
//  3. parent spent: reuse_grace > 0, now <= spent_at + grace and the stored child hash equals
//     the request's child hash => kRevoked if the family is revoked, else kGraceRetry;
//     otherwise => kReuse (also when the family is already revoked: it *is* a reuse, and every
//     concurrent loser of a race must hear so)
//  4. family revoked                                           => kRevoked
//  5. now >= parent.expires_at                                 => kExpired
//  6.                                                          => kRotate
// A zero grace never yields kGraceRetry, so with reuse_grace == 0 exactly one caller rotates.
// Why a spent token past its own expiry is still a reuse: presenting it shows the chain leaked.
absl::StatusOr<RotationStep> DecideRotation(const RefreshTokenRecord& parent,
                                            const RotateRequest& request);

// The RotateOutcome reported for a step.
RotateOutcome OutcomeOf(RotationStep step);

}  // namespace tokend::storage
