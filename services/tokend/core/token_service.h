#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "jwt/secret_data.h"
#include "jwt/verifier.h"
#include "services/tokend/core/token_types.h"
#include "storage/token_store.h"
#include "util/clock.h"

namespace tokend::keys {
class KeyRing;
}

namespace tokend::core {

class Denylist;
class TokenMetrics;

struct ServiceConfig {
  std::string issuer = "tokend";
  absl::Duration access_ttl_default = absl::Minutes(10);
  absl::Duration access_ttl_max = absl::Minutes(15);
  absl::Duration refresh_ttl = absl::Hours(24 * 14);
  absl::Duration refresh_family_ttl = absl::Hours(24 * 90);
  absl::Duration refresh_reuse_grace = absl::Seconds(10);
  absl::Duration clock_skew = absl::Seconds(30);  // at most 5 min (the verifier's cap)
  absl::Duration jwks_max_age = absl::Minutes(10);
  // Derives a retried refresh's child token from its parent (HMAC), so a retry within the grace
  // window gets the same child without any token stored in clear. Shared by all replicas; at
  // least 32 bytes. Empty: a random per-process secret (fine for one replica only: a retry that
  // lands on another replica would then be treated as reuse).
  jwt::SecretData refresh_derivation_secret;
  // Called (on the calling thread, after the family is revoked) when refresh token reuse is
  // detected. Optional; must be thread-safe and quick.
  std::function<void(const RefreshReuseEvent&)> on_refresh_reuse;
};

// Issue / Verify / Refresh / Revoke. Thread-safe. Verify and Issue never touch the store
// (Issue with a refresh token does). Errors are absl::Status with the codes of CONVENTIONS §4:
// INVALID_ARGUMENT for bad requests, UNAUTHENTICATED for a refresh token that is unknown,
// expired, revoked, spent or malformed, PERMISSION_DENIED for a refresh token presented by
// another client, UNAVAILABLE when the store or a fresh denylist is not at hand. No message
// ever contains token text. Does not authenticate callers (client_id is taken as given).
class TokenService {
 public:
  // OK if `config` is one the constructor accepts: positive TTLs, default <= max, refresh_ttl
  // <= refresh_family_ttl, clock_skew in [0, 5 min], grace >= 0, a non-empty issuer and a
  // derivation secret that is empty or >= 32 bytes. main checks this first.
  static absl::Status ValidateConfig(const ServiceConfig& config);

  // Aborts on a config ValidateConfig rejects (a startup invariant). All references must
  // outlive the service.
  TokenService(ServiceConfig config, keys::KeyRing& key_ring, storage::TokenStore& store,
               Denylist& denylist, const util::Clock& clock, TokenMetrics& metrics);
  TokenService(const TokenService&) = delete;
  TokenService& operator=(const TokenService&) = delete;

  absl::StatusOr<IssuedTokens> Issue(const IssueParams& params);
  // OK with a VerifyOutcome for any token; errors only for a bad request (INVALID_ARGUMENT) or a
  // stale denylist under FailMode::kClosed (UNAVAILABLE).
  absl::StatusOr<VerifyOutcome> Verify(const VerifyParams& params) const;
  absl::StatusOr<IssuedTokens> Refresh(const RefreshParams& params);
  // Durable in the store before it returns, and applied to the local denylist at once.
  // Idempotent; OK for a token that is unknown or does not verify (RFC 7009).
  absl::Status Revoke(const RevokeParams& params);

  // The JWKS of every published key, and how long clients may cache it.
  std::string JwksJson() const;
  absl::Duration jwks_max_age() const { return config_.jwks_max_age; }

  // Readiness for health checks: a signing key is loaded and the denylist has been synced and
  // is usable now (fresh, or stale under FailMode::kOpen). OK or UNAVAILABLE with the reason.
  absl::Status ReadyStatus() const;
  bool Ready() const { return ReadyStatus().ok(); }

  const ServiceConfig& config() const { return config_; }

 private:
  absl::StatusOr<IssuedTokens> MintAccessToken(const std::string& subject,
                                               const std::vector<std::string>& audiences,
                                               const std::vector<std::string>& scopes,
                                               const std::string& custom_claims_json,
                                               const std::string& client_id,
                                               const std::string& session_id, absl::Time now,
                                               absl::Duration ttl) const;
  absl::Status RevokeAccessToken(const RevokeParams& params, absl::Time now);
  absl::Status RevokeRefreshToken(const RevokeParams& params, absl::Time now);
  absl::Status StoreAndApply(const storage::Revocation& revocation);
  // How long a family's access tokens may outlive the family (see storage::FamilyRevocation).
  absl::Duration AccessTokenMargin() const;

  // Refresh in two halves around the one place that records the refresh metric.
  struct Rotation {
    storage::RotateResult result;               // what the store decided
    jwt::SecretData child_token;                // the child's text (only its hash was sent)
    std::vector<std::string> requested_scopes;  // deduplicated; empty: the family's
  };
  // Validates, then lets the store decide and write in one call. A malformed token is kNotFound
  // without a store call. Errors: INVALID_ARGUMENT for a bad request, the store's failures.
  absl::StatusOr<Rotation> Rotate(const RefreshParams& params, absl::Time now);
  // The caller's answer to what the store decided: new tokens, or the error of the outcome.
  absl::StatusOr<IssuedTokens> AnswerRefresh(const RefreshParams& params, const Rotation& rotation,
                                             absl::Time now);
  // Applies a reuse's family revocation locally at once, logs and reports it.
  void HandleReuse(const storage::RefreshTokenRecord& parent,
                   const std::string& presenter_client_id, absl::Time now);
  // Records a store failure in metrics and returns it unchanged.
  absl::Status StoreError(std::string_view operation, absl::Status status) const;

  ServiceConfig config_;
  keys::KeyRing& key_ring_;
  storage::TokenStore& store_;
  Denylist& denylist_;
  const util::Clock& clock_;
  TokenMetrics& metrics_;
  jwt::JwtVerifier verifier_;
};

}  // namespace tokend::core
