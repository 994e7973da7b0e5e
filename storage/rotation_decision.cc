#include "storage/rotation_decision.h"

#include <string_view>

#include "absl/status/status.h"

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

}  // namespace

absl::StatusOr<RotationStep> DecideRotation(const RefreshTokenRecord& parent,
                                            const RotateRequest& request) {
  if (request.child.family_id != parent.family_id) {
    return absl::InvalidArgumentError("the child belongs to another family than its parent");
  }
  const absl::Time now = request.now;
  if (now >= parent.family_expires_at) return RotationStep::kExpired;
  if (parent.spent_at.has_value()) {
    const bool within_grace =
        request.reuse_grace > absl::ZeroDuration() && now <= *parent.spent_at + request.reuse_grace;
    if (within_grace && HashesEqual(parent.child_hash, request.child.token_hash)) {
      return parent.family_revoked ? RotationStep::kRevoked : RotationStep::kGraceRetry;
    }
    return RotationStep::kReuse;
  }
  if (parent.family_revoked) return RotationStep::kRevoked;
  if (now >= parent.expires_at) return RotationStep::kExpired;
  return RotationStep::kRotate;
}

RotateOutcome OutcomeOf(RotationStep step) {
  switch (step) {
    case RotationStep::kRotate:
      return RotateOutcome::kRotated;
    case RotationStep::kGraceRetry:
      return RotateOutcome::kGraceRetry;
    case RotationStep::kReuse:
      return RotateOutcome::kReuseDetected;
    case RotationStep::kRevoked:
      return RotateOutcome::kRevoked;
    case RotationStep::kExpired:
      return RotateOutcome::kExpired;
  }
  return RotateOutcome::kRevoked;  // unreachable; the safe answer
}

}  // namespace tokend::storage
