#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "jwt/verified_jwt.h"
#include "jwt/verify_error.h"
#include "storage/revocation.h"

namespace tokend::core {

// The domain requests and answers of the token service, free of protobuf and gRPC types: what
// the gRPC adapter maps the wire contract to and from, and what TokenService takes and returns.

struct IssueParams {
  std::string subject;
  std::vector<std::string> audiences;
  std::vector<std::string> scopes;
  std::string custom_claims_json;     // "{...}" or empty
  std::optional<absl::Duration> ttl;  // nullopt: the configured default
  bool include_refresh_token = false;
  std::string client_id;  // the caller's identity (empty until caller auth exists)
};

struct IssuedTokens {
  std::string access_token;
  std::string token_id;
  absl::Time expires_at;      // the exp claim (whole seconds)
  std::string refresh_token;  // empty unless requested / refreshed
  absl::Time refresh_expires_at;
  // What the access token says, for the audit trail (public claims, never token text).
  std::string subject;
  std::vector<std::string> audiences;
  std::vector<std::string> scopes;
};

struct VerifyParams {
  std::string access_token;
  std::string audience;
  std::vector<std::string> required_scopes;
};

// Why a token is not valid: a jwt::VerifyError (mapped by InvalidReasonFromVerifyError) or
// REVOKED, which only the service can know. The one list of verify results: the proto's
// VerifyError follows its order, and the result label of tokend_verify_results_total is derived
// from InvalidReasonName. kRevoked stays last.
enum class InvalidReason {
  kNone,
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
  kRevoked,
};
inline constexpr size_t kInvalidReasonCount = static_cast<size_t>(InvalidReason::kRevoked) + 1;

// "NONE", "MALFORMED", ..., "REVOKED" (the proto's VERIFY_ERROR_* suffixes, and
// jwt::VerifyErrorName for the reasons that come from the verifier); "UNKNOWN" out of range.
constexpr std::string_view InvalidReasonName(InvalidReason reason) {
  switch (reason) {
    case InvalidReason::kNone:
      return "NONE";
    case InvalidReason::kMalformed:
      return "MALFORMED";
    case InvalidReason::kTooLarge:
      return "TOO_LARGE";
    case InvalidReason::kAlgorithmNotAllowed:
      return "ALGORITHM_NOT_ALLOWED";
    case InvalidReason::kUnknownKey:
      return "UNKNOWN_KEY";
    case InvalidReason::kBadSignature:
      return "BAD_SIGNATURE";
    case InvalidReason::kWrongType:
      return "WRONG_TYPE";
    case InvalidReason::kExpired:
      return "EXPIRED";
    case InvalidReason::kNotYetValid:
      return "NOT_YET_VALID";
    case InvalidReason::kWrongIssuer:
      return "WRONG_ISSUER";
    case InvalidReason::kWrongAudience:
      return "WRONG_AUDIENCE";
    case InvalidReason::kInsufficientScope:
      return "INSUFFICIENT_SCOPE";
    case InvalidReason::kInvalidClaims:
      return "INVALID_CLAIMS";
    case InvalidReason::kRevoked:
      return "REVOKED";
  }
  return "UNKNOWN";
}
static_assert(InvalidReasonName(static_cast<InvalidReason>(kInvalidReasonCount)) == "UNKNOWN",
              "kRevoked must stay the last InvalidReason (kInvalidReasonCount counts them)");

// The one mapping from the JWT layer's reasons (which know nothing of the service) to core's.
InvalidReason InvalidReasonFromVerifyError(jwt::VerifyError error);

struct VerifyOutcome {
  InvalidReason reason = InvalidReason::kNone;  // kNone: valid
  std::optional<jwt::VerifiedJwt> token;        // set when valid
  bool valid() const { return reason == InvalidReason::kNone; }
};

struct RefreshParams {
  std::string refresh_token;
  std::vector<std::string> scopes;  // empty: the family's scopes; else a subset
  std::string client_id;
};

struct RevokeParams {
  storage::RevokeTarget target = storage::RevokeTarget::kTokenId;
  std::string value;
  std::string reason;
  std::string client_id;
};

// A refresh token came back after it was spent (outside the grace window): whoever holds it
// may be an attacker, so its whole family was revoked. Reported to an observer (the audit
// log); public identifiers only.
struct RefreshReuseEvent {
  std::string family_id;
  std::string subject;
  std::string owner_client_id;      // the client the family was issued to
  std::string presenter_client_id;  // the client that presented the spent token
};

}  // namespace tokend::core
