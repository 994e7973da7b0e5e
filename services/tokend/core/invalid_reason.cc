#include <array>
#include <string_view>

#include "jwt/verify_error.h"
#include "services/tokend/core/token_metrics.h"
#include "services/tokend/core/token_service.h"

namespace tokend::core {
namespace {

constexpr std::array<std::string_view, 14> kNames = {
    "NONE",           "MALFORMED",     "TOO_LARGE",      "ALGORITHM_NOT_ALLOWED",
    "UNKNOWN_KEY",    "BAD_SIGNATURE", "WRONG_TYPE",     "EXPIRED",
    "NOT_YET_VALID",  "WRONG_ISSUER",  "WRONG_AUDIENCE", "INSUFFICIENT_SCOPE",
    "INVALID_CLAIMS", "REVOKED"};

// The metrics labels are indexed by InvalidReason; keep the two lists in step.
static_assert(kNames.size() == kVerifyResultLabels.size());
static_assert(static_cast<size_t>(InvalidReason::kRevoked) + 1 == kNames.size());
static_assert(kVerifyResultLabels[static_cast<size_t>(InvalidReason::kNone)] == "valid");
static_assert(kVerifyResultLabels[static_cast<size_t>(InvalidReason::kRevoked)] == "revoked");
static_assert(kVerifyResultLabels[static_cast<size_t>(InvalidReason::kInvalidClaims)] ==
              "invalid_claims");
static_assert(kVerifyResultLabels[static_cast<size_t>(InvalidReason::kUnknownKey)] ==
              "unknown_key");

}  // namespace

std::string_view InvalidReasonName(InvalidReason reason) {
  const auto i = static_cast<size_t>(reason);
  return i < kNames.size() ? kNames[i] : "UNKNOWN";
}

InvalidReason InvalidReasonFromVerifyError(jwt::VerifyError error) {
  switch (error) {
    case jwt::VerifyError::kMalformed:
      return InvalidReason::kMalformed;
    case jwt::VerifyError::kTooLarge:
      return InvalidReason::kTooLarge;
    case jwt::VerifyError::kAlgorithmNotAllowed:
      return InvalidReason::kAlgorithmNotAllowed;
    case jwt::VerifyError::kUnknownKey:
      return InvalidReason::kUnknownKey;
    case jwt::VerifyError::kBadSignature:
      return InvalidReason::kBadSignature;
    case jwt::VerifyError::kWrongType:
      return InvalidReason::kWrongType;
    case jwt::VerifyError::kExpired:
      return InvalidReason::kExpired;
    case jwt::VerifyError::kNotYetValid:
      return InvalidReason::kNotYetValid;
    case jwt::VerifyError::kWrongIssuer:
      return InvalidReason::kWrongIssuer;
    case jwt::VerifyError::kWrongAudience:
      return InvalidReason::kWrongAudience;
    case jwt::VerifyError::kInsufficientScope:
      return InvalidReason::kInsufficientScope;
    case jwt::VerifyError::kInvalidClaims:
      return InvalidReason::kInvalidClaims;
  }
  return InvalidReason::kMalformed;  // unreachable for a valid enum value
}

}  // namespace tokend::core
