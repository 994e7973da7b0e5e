#include "services/tokend/core/token_types.h"

namespace tokend::core {

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
