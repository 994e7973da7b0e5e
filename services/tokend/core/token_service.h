#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "jwt/verified_jwt.h"
#include "jwt/verify_error.h"

namespace tokend::core {

// Domain requests and answers of the token service, free of protobuf and gRPC types.

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
  absl::Time expires_at;
  std::string refresh_token;  // empty unless requested / refreshed
  absl::Time refresh_expires_at;
};

struct VerifyParams {
  std::string access_token;
  std::string audience;
  std::vector<std::string> required_scopes;
};

// Why a token is not valid: a jwt::VerifyError or REVOKED.
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

std::string_view InvalidReasonName(InvalidReason reason);  // "MALFORMED", ..., "REVOKED"

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
  enum class Target { kAccessToken, kTokenId, kRefreshToken, kSubject };
  Target target = Target::kTokenId;
  std::string value;
  std::string reason;
  std::string client_id;
};

}  // namespace tokend::core

// --- the service ------------------------------------------------------------------------------

#include <memory>

#include "jwt/secret_data.h"
#include "jwt/verifier.h"
#include "storage/token_store.h"

namespace tokend::keys {
class KeyRing;
}
namespace tokend::metrics {
struct Metrics;
}

namespace tokend::core {

class Clock;
class Denylist;

struct ServiceConfig {
  std::string issuer = "tokend";
  absl::Duration access_ttl_default = absl::Minutes(10);
  absl::Duration access_ttl_max = absl::Minutes(15);
  absl::Duration refresh_ttl = absl::Hours(24 * 14);
  absl::Duration refresh_family_ttl = absl::Hours(24 * 90);
  absl::Duration refresh_reuse_grace = absl::Seconds(10);
  absl::Duration clock_skew = absl::Seconds(30);
  absl::Duration jwks_max_age = absl::Minutes(10);
  // Derives a retried refresh's child token from its parent (HMAC), so a retry within the grace
  // window gets the same child without any token stored in clear. Shared by all replicas.
  jwt::SecretData refresh_derivation_secret;
};

// Issue / Verify / Refresh / Revoke. Thread-safe. Verify and Issue never touch the store
// (Issue with a refresh token does). Errors are absl::Status with the codes of CONVENTIONS §4:
// INVALID_ARGUMENT for bad requests, UNAUTHENTICATED for a refresh token that is unknown,
// expired, revoked or spent, UNAVAILABLE when the store or a fresh denylist is not at hand.
class TokenService {
 public:
  TokenService(ServiceConfig config, keys::KeyRing& key_ring, storage::TokenStore& store,
               Denylist& denylist, const Clock& clock, metrics::Metrics& metrics);

  absl::StatusOr<IssuedTokens> Issue(const IssueParams& params);
  // OK with a VerifyOutcome for any token; errors only for a bad request or a stale denylist.
  absl::StatusOr<VerifyOutcome> Verify(const VerifyParams& params) const;
  absl::StatusOr<IssuedTokens> Refresh(const RefreshParams& params);
  absl::Status Revoke(const RevokeParams& params);

  // The JWKS of every published key, and how long clients may cache it.
  std::string JwksJson() const;
  absl::Duration jwks_max_age() const { return config_.jwks_max_age; }

 private:
  ServiceConfig config_;
  keys::KeyRing& key_ring_;
  storage::TokenStore& store_;
  Denylist& denylist_;
  const Clock& clock_;
  metrics::Metrics& metrics_;
};

}  // namespace tokend::core
