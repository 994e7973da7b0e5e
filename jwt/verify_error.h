#pragma once

#include <optional>
#include <string_view>

#include "absl/status/status.h"

namespace tokend::jwt {

// The closed set of reasons a token fails verification. The service exposes them as-is
// (plus REVOKED, which only the service can know).
enum class VerifyError {
  kMalformed,
  kTooLarge,
  kAlgorithmNotAllowed,
  kUnknownKey,
  kBadSignature,
  kWrongType,
  kExpired,
  kNotYetValid,
  kWrongIssuer,
  kWrongAudience,
  kInsufficientScope,
  kInvalidClaims,
};

// "MALFORMED", "TOO_LARGE", ... as in the enum, upper snake case.
std::string_view VerifyErrorName(VerifyError error);

// An UNAUTHENTICATED status carrying `error` as a payload. `detail` must never hold token
// text, key material or claim values an attacker could use to probe; a short fixed phrase.
absl::Status MakeVerifyError(VerifyError error, std::string_view detail);

// The reason carried by a status made with MakeVerifyError; nullopt for any other status.
std::optional<VerifyError> GetVerifyError(const absl::Status& status);

}  // namespace tokend::jwt
