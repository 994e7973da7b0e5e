#include "jwt/verify_error.h"

#include <array>
#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/string_view.h"

namespace tokend::jwt {
namespace {

// The payload type URL under which the reason travels inside an absl::Status.
// (Debian's Abseil has its own absl::string_view, distinct from std::string_view.)
constexpr absl::string_view kVerifyErrorTypeUrl = "type.tokend.dev/jwt.VerifyError";

struct ErrorName {
  VerifyError error;
  std::string_view name;
};

constexpr std::array<ErrorName, 12> kErrorNames = {{
    {VerifyError::kMalformed, "MALFORMED"},
    {VerifyError::kTooLarge, "TOO_LARGE"},
    {VerifyError::kAlgorithmNotAllowed, "ALGORITHM_NOT_ALLOWED"},
    {VerifyError::kUnknownKey, "UNKNOWN_KEY"},
    {VerifyError::kBadSignature, "BAD_SIGNATURE"},
    {VerifyError::kWrongType, "WRONG_TYPE"},
    {VerifyError::kExpired, "EXPIRED"},
    {VerifyError::kNotYetValid, "NOT_YET_VALID"},
    {VerifyError::kWrongIssuer, "WRONG_ISSUER"},
    {VerifyError::kWrongAudience, "WRONG_AUDIENCE"},
    {VerifyError::kInsufficientScope, "INSUFFICIENT_SCOPE"},
    {VerifyError::kInvalidClaims, "INVALID_CLAIMS"},
}};

}  // namespace

std::string_view VerifyErrorName(VerifyError error) {
  for (const ErrorName& entry : kErrorNames) {
    if (entry.error == error) return entry.name;
  }
  return "UNKNOWN";
}

absl::Status MakeVerifyError(VerifyError error, std::string_view detail) {
  std::string message(VerifyErrorName(error));
  if (!detail.empty()) {
    message.append(": ");
    message.append(detail);
  }
  absl::Status status(absl::StatusCode::kUnauthenticated, message);
  status.SetPayload(kVerifyErrorTypeUrl, absl::Cord(std::string(VerifyErrorName(error))));
  return status;
}

std::optional<VerifyError> GetVerifyError(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kUnauthenticated) return std::nullopt;
  auto payload = status.GetPayload(kVerifyErrorTypeUrl);
  if (!payload.has_value()) return std::nullopt;
  for (const ErrorName& entry : kErrorNames) {
    if (*payload == absl::string_view(entry.name.data(), entry.name.size())) return entry.error;
  }
  return std::nullopt;
}

}  // namespace tokend::jwt
