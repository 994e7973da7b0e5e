#include "services/tokend/core/token_service.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "jwt/algorithm.h"
#include "jwt/claims.h"
#include "jwt/signer.h"
#include "services/tokend/core/denylist.h"
#include "services/tokend/core/refresh_tokens.h"
#include "services/tokend/core/request_validation.h"
#include "services/tokend/core/token_metrics.h"
#include "services/tokend/keys/key_ring.h"
#include "storage/rotation_decision.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/status_macros.h"

namespace tokend::core {
namespace {

using storage::Revocation;

// One fixed answer for every refresh token that cannot be used, so the answer does not tell an
// attacker which of unknown / expired / revoked / spent applies.
constexpr char kRefreshRejected[] = "refresh token is invalid, expired, revoked or already used";
constexpr char kReuseReason[] = "refresh token reuse detected";

constexpr absl::Duration kMaxClockSkew = absl::Minutes(5);
constexpr size_t kMinDerivationSecretBytes = 32;

jwt::JwtVerifier BuildVerifierOrDie(const ServiceConfig& config) {
  // Every algorithm is allowed here because the key decides: the verifier accepts a token only
  // when its kid names a published key whose own algorithm equals the header's, so HS256 tokens
  // pass only when an HS256 key was explicitly configured (no algorithm confusion).
  jwt::JwtVerifier::Builder builder;
  builder.ExpectIssuer(config.issuer)
      .AllowAlgorithm(jwt::Algorithm::kEdDSA)
      .AllowAlgorithm(jwt::Algorithm::kES256)
      .AllowAlgorithm(jwt::Algorithm::kRS256)
      .AllowAlgorithm(jwt::Algorithm::kHS256)
      .SetClockSkew(config.clock_skew)
      .SetMaxTokenSize(RequestLimits::kMaxTokenBytes);
  absl::StatusOr<jwt::JwtVerifier> verifier = builder.Build();
  if (!verifier.ok()) {
    log::Error(absl::StrCat("invalid token service config: ", verifier.status().ToString()));
    std::abort();
  }
  return *std::move(verifier);
}

ServiceConfig CheckedConfig(ServiceConfig config) {
  absl::Status status = TokenService::ValidateConfig(config);
  if (!status.ok()) {
    log::Error(absl::StrCat("invalid token service config: ", status.message()));
    std::abort();  // a startup invariant: main validates first
  }
  if (config.refresh_derivation_secret.empty()) {
    absl::StatusOr<std::string> random = RandomBytes(kMinDerivationSecretBytes);
    if (!random.ok()) std::abort();
    config.refresh_derivation_secret = jwt::SecretData(*random);
    OPENSSL_cleanse(random->data(), random->size());
    log::Warning(
        "no refresh derivation secret configured: using a random per-process one (a refresh "
        "retry that reaches another replica will be treated as reuse)");
  }
  return config;
}

// Seconds precision, as in the exp claim.
absl::Time TruncateToSeconds(absl::Time t) { return absl::FromUnixSeconds(absl::ToUnixSeconds(t)); }

}  // namespace

absl::Status TokenService::ValidateConfig(const ServiceConfig& config) {
  if (config.issuer.empty()) return absl::InvalidArgumentError("issuer is required");
  if (config.access_ttl_default <= absl::ZeroDuration() ||
      config.access_ttl_max < config.access_ttl_default) {
    return absl::InvalidArgumentError("need 0 < access_ttl_default <= access_ttl_max");
  }
  if (config.refresh_ttl <= absl::ZeroDuration() ||
      config.refresh_family_ttl < config.refresh_ttl) {
    return absl::InvalidArgumentError("need 0 < refresh_ttl <= refresh_family_ttl");
  }
  if (config.refresh_reuse_grace < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("refresh_reuse_grace must not be negative");
  }
  if (config.clock_skew < absl::ZeroDuration() || config.clock_skew > kMaxClockSkew) {
    return absl::InvalidArgumentError("clock_skew must be between 0 and 5 minutes");
  }
  if (config.jwks_max_age < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("jwks_max_age must not be negative");
  }
  if (!config.refresh_derivation_secret.empty() &&
      config.refresh_derivation_secret.size() < kMinDerivationSecretBytes) {
    return absl::InvalidArgumentError("refresh_derivation_secret must be at least 32 bytes");
  }
  return absl::OkStatus();
}

TokenService::TokenService(ServiceConfig config, keys::KeyRing& key_ring,
                           storage::TokenStore& store, Denylist& denylist, const util::Clock& clock,
                           TokenMetrics& metrics)
    : config_(CheckedConfig(std::move(config))),
      key_ring_(key_ring),
      store_(store),
      denylist_(denylist),
      clock_(clock),
      metrics_(metrics),
      verifier_(BuildVerifierOrDie(config_)) {
  const jwt::SigningKey active = key_ring_.ActiveKey();
  metrics_.SetActiveSigningKey(active.kid(), jwt::AlgorithmName(active.algorithm()));
}

absl::Status TokenService::StoreError(std::string_view operation, absl::Status status) const {
  metrics_.RecordStoreError(operation, status.code());
  // An outage's message is libpq's (host, address, port): it goes to the log, and the caller gets
  // a generic one with the same retryable code.
  if (status.code() == absl::StatusCode::kUnavailable ||
      status.code() == absl::StatusCode::kDeadlineExceeded) {
    log::Warning(absl::StrCat("token store: ", std::string(operation), ": ", status.ToString()));
    return {status.code(), "the token store is unavailable; retry later"};
  }
  return status;
}

// --- Issue --------------------------------------------------------------------------------------

absl::StatusOr<IssuedTokens> TokenService::MintAccessToken(
    const std::string& subject, const std::vector<std::string>& audiences,
    const std::vector<std::string>& scopes, const std::string& custom_claims_json,
    const std::string& client_id, const std::string& session_id, absl::Time now,
    absl::Duration ttl) const {
  jwt::JwtClaims claims;
  claims.issuer = config_.issuer;
  claims.subject = subject;
  claims.audiences = audiences;
  claims.issued_at = now;
  claims.expires_at = now + ttl;
  TOKEND_ASSIGN_OR_RETURN(claims.jwt_id, NewRandomId());  // 128 random bits
  claims.client_id = client_id;
  claims.scopes = scopes;
  claims.session_id = session_id;
  claims.custom_claims_json = custom_claims_json;

  // INVALID_ARGUMENT with a fixed phrase ("claims: custom claim uses a registered name") for
  // custom claims the JWT core refuses; it never echoes claim values.
  TOKEND_ASSIGN_OR_RETURN(std::string token, jwt::SignAccessToken(claims, key_ring_.ActiveKey()));
  // A token the verifiers would refuse as TOO_LARGE is useless: refuse it here instead.
  if (token.size() > RequestLimits::kMaxTokenBytes) {
    return absl::InvalidArgumentError(absl::StrCat("the access token would exceed ",
                                                   RequestLimits::kMaxTokenBytes,
                                                   " bytes; send fewer or smaller claims"));
  }
  IssuedTokens out;
  out.access_token = std::move(token);
  out.token_id = claims.jwt_id;
  out.expires_at = TruncateToSeconds(claims.expires_at);
  out.subject = subject;
  out.audiences = audiences;
  out.scopes = scopes;
  return out;
}

absl::StatusOr<IssuedTokens> TokenService::Issue(const IssueParams& params) {
  TOKEND_RETURN_IF_ERROR(ValidateSubject(params.subject));
  TOKEND_RETURN_IF_ERROR(ValidateAudiences(params.audiences));
  TOKEND_RETURN_IF_ERROR(ValidateScopes(params.scopes));
  TOKEND_RETURN_IF_ERROR(ValidateClientId(params.client_id));
  if (params.custom_claims_json.size() > RequestLimits::kMaxCustomClaimsBytes) {
    return absl::InvalidArgumentError(absl::StrCat("custom claims are longer than ",
                                                   RequestLimits::kMaxCustomClaimsBytes, " bytes"));
  }
  const absl::Duration ttl = params.ttl.value_or(config_.access_ttl_default);
  if (ttl <= absl::ZeroDuration()) return absl::InvalidArgumentError("ttl must be positive");
  if (ttl < absl::Seconds(1)) {
    // exp has whole-second precision: a shorter lifetime cannot be expressed.
    return absl::InvalidArgumentError("ttl must be at least 1 second");
  }
  if (ttl > config_.access_ttl_max) {
    return absl::InvalidArgumentError(
        absl::StrCat("ttl exceeds the maximum of ", absl::FormatDuration(config_.access_ttl_max)));
  }
  const std::vector<std::string> scopes = DedupScopes(params.scopes);
  const absl::Time now = clock_.Now();

  if (!params.include_refresh_token) {
    TOKEND_ASSIGN_OR_RETURN(IssuedTokens out,
                            MintAccessToken(params.subject, params.audiences, scopes,
                                            params.custom_claims_json, params.client_id,
                                            /*session_id=*/"", now, ttl));
    metrics_.RecordIssued(TokenKind::kAccess);
    return out;
  }

  storage::RefreshTokenRecord record;
  TOKEND_ASSIGN_OR_RETURN(record.family_id, NewRandomId());
  TOKEND_ASSIGN_OR_RETURN(jwt::SecretData refresh_token, GenerateRefreshToken());
  // The access token is signed first: it validates the custom claims before anything is stored.
  TOKEND_ASSIGN_OR_RETURN(
      IssuedTokens out,
      MintAccessToken(params.subject, params.audiences, scopes, params.custom_claims_json,
                      params.client_id, record.family_id, now, ttl));
  // Never the token itself.
  TOKEND_ASSIGN_OR_RETURN(record.token_hash, HashRefreshToken(refresh_token.ExposeSecret()));
  record.subject = params.subject;
  record.client_id = params.client_id;
  record.audiences = params.audiences;
  record.scopes = scopes;
  record.custom_claims_json = params.custom_claims_json;
  record.issued_at = now;
  record.family_expires_at = now + config_.refresh_family_ttl;
  record.expires_at = std::min(now + config_.refresh_ttl, record.family_expires_at);
  absl::Status inserted = store_.InsertRefreshToken(record);
  if (!inserted.ok()) return StoreError("InsertRefreshToken", std::move(inserted));

  out.refresh_token = std::string(refresh_token.ExposeSecret());
  out.refresh_expires_at = record.expires_at;
  metrics_.RecordIssued(TokenKind::kAccess);
  metrics_.RecordIssued(TokenKind::kRefresh);
  return out;
}

// --- Verify -------------------------------------------------------------------------------------

absl::StatusOr<VerifyOutcome> TokenService::Verify(const VerifyParams& params) const {
  if (params.access_token.empty()) return absl::InvalidArgumentError("access_token is required");
  if (params.audience.empty()) return absl::InvalidArgumentError("audience is required");
  if (params.audience.size() > RequestLimits::kMaxAudienceBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("audience is longer than ", RequestLimits::kMaxAudienceBytes, " bytes"));
  }
  TOKEND_RETURN_IF_ERROR(ValidateScopes(params.required_scopes));

  const absl::Time now = clock_.Now();
  const std::shared_ptr<const jwt::KeySet> keys = key_ring_.VerificationKeys();
  absl::StatusOr<jwt::VerifiedJwt> verified = verifier_.VerifyAndDecode(
      params.access_token, *keys,
      jwt::Expectations::ForAudience(params.audience, params.required_scopes), now);

  VerifyOutcome outcome;
  if (!verified.ok()) {
    std::optional<jwt::VerifyError> error = jwt::GetVerifyError(verified.status());
    if (!error.has_value()) return verified.status();  // not a verdict on the token: a fault
    outcome.reason = InvalidReasonFromVerifyError(*error);
  } else if (!denylist_.IsUsable(now)) {
    // Fail closed: without a fresh denylist a revoked token could pass. (An invalid token is
    // answered above: that needs no denylist.)
    return absl::UnavailableError("the revocation list is stale; try again later");
  } else if (denylist_.IsRevoked(verified->jwt_id(), verified->session_id(), verified->subject(),
                                 verified->issued_at())) {
    outcome.reason = InvalidReason::kRevoked;
  } else {
    outcome.token = *std::move(verified);
  }
  metrics_.RecordVerify(outcome.reason);
  return outcome;
}

// --- Refresh ------------------------------------------------------------------------------------

absl::Duration TokenService::AccessTokenMargin() const {
  return config_.access_ttl_max + config_.clock_skew;
}

absl::StatusOr<IssuedTokens> TokenService::Refresh(const RefreshParams& params) {
  const absl::Time now = clock_.Now();
  absl::StatusOr<Rotation> rotation = Rotate(params, now);
  // The one place the refresh metric is recorded: what the store decided, or why it was not
  // asked (a bad request, a failure).
  metrics_.RecordRefresh(rotation.ok()
                             ? absl::StatusOr<storage::RotateOutcome>(rotation->result.outcome)
                             : rotation.status());
  if (!rotation.ok()) return rotation.status();
  return AnswerRefresh(params, *rotation, now);
}

absl::StatusOr<TokenService::Rotation> TokenService::Rotate(const RefreshParams& params,
                                                            absl::Time now) {
  // Malformed text is answered like an unknown token and never reaches the store.
  if (!IsWellFormedRefreshToken(params.refresh_token)) {
    return Rotation{{storage::RotateOutcome::kNotFound, std::nullopt, std::nullopt}, {}, {}};
  }
  TOKEND_RETURN_IF_ERROR(ValidateScopes(params.scopes));
  TOKEND_RETURN_IF_ERROR(ValidateClientId(params.client_id));

  // The child is derived, not random: a retry within the grace window re-derives the same one.
  TOKEND_ASSIGN_OR_RETURN(
      jwt::SecretData child_token,
      DeriveChildRefreshToken(config_.refresh_derivation_secret, params.refresh_token));
  // One call: the store checks the client and the scopes, and rotates or refuses, under its
  // lock. A refused request (another client, scopes not granted) does not spend the token.
  storage::RotateRequest request;
  TOKEND_ASSIGN_OR_RETURN(request.parent_hash, HashRefreshToken(params.refresh_token));
  request.presenting_client_id = params.client_id;
  request.requested_scopes = DedupScopes(params.scopes);
  TOKEND_ASSIGN_OR_RETURN(request.child.token_hash, HashRefreshToken(child_token.ExposeSecret()));
  request.child.lifetime = config_.refresh_ttl;
  request.now = now;
  request.reuse_grace = config_.refresh_reuse_grace;
  request.access_token_margin = AccessTokenMargin();
  request.reuse_reason = kReuseReason;
  absl::StatusOr<storage::RotateResult> rotated = store_.RotateRefreshToken(request);
  if (!rotated.ok()) return StoreError("RotateRefreshToken", rotated.status());
  return Rotation{*std::move(rotated), std::move(child_token), std::move(request.requested_scopes)};
}

absl::StatusOr<IssuedTokens> TokenService::AnswerRefresh(const RefreshParams& params,
                                                         const Rotation& rotation, absl::Time now) {
  const storage::RotateResult& result = rotation.result;
  switch (result.outcome) {
    case storage::RotateOutcome::kRotated:
    case storage::RotateOutcome::kGraceRetry:
      break;
    case storage::RotateOutcome::kReuseDetected:
      if (result.parent.has_value()) HandleReuse(*result.parent, params.client_id, now);
      return absl::UnauthenticatedError(kRefreshRejected);
    case storage::RotateOutcome::kNotFound:
    case storage::RotateOutcome::kExpired:
    case storage::RotateOutcome::kRevoked:
      return absl::UnauthenticatedError(kRefreshRejected);
    case storage::RotateOutcome::kClientMismatch:
      return absl::PermissionDeniedError("refresh token was issued to another client");
    case storage::RotateOutcome::kScopeNotGranted:
      return absl::InvalidArgumentError(
          "requested scopes must be a subset of the scopes originally granted");
  }
  if (!result.parent.has_value() || !result.child.has_value()) {
    return absl::InternalError("the token store returned a rotation without its records");
  }
  const storage::RefreshTokenRecord& parent = *result.parent;
  // Down-scoping narrows only this access token; the child keeps the family's full grant.
  const std::vector<std::string>& access_scopes =
      rotation.requested_scopes.empty() ? parent.scopes : rotation.requested_scopes;
  TOKEND_ASSIGN_OR_RETURN(
      IssuedTokens out,
      MintAccessToken(parent.subject, parent.audiences, access_scopes, parent.custom_claims_json,
                      parent.client_id, parent.family_id, now, config_.access_ttl_default));
  out.refresh_token = std::string(rotation.child_token.ExposeSecret());
  // For a grace retry: the child the first call stored, with that call's time.
  out.refresh_expires_at = result.child->expires_at;
  metrics_.RecordIssued(TokenKind::kAccess);
  if (result.outcome == storage::RotateOutcome::kRotated) {
    metrics_.RecordIssued(TokenKind::kRefresh);
  }
  return out;
}

void TokenService::HandleReuse(const storage::RefreshTokenRecord& parent,
                               const std::string& presenter_client_id, absl::Time now) {
  // A spent token came back: whoever holds it may be an attacker, so the store revoked the
  // whole family (durably, with this same entry); honour it here at once, before the feed
  // echoes it.
  denylist_.Apply(storage::FamilyRevocation(parent, now, AccessTokenMargin(), kReuseReason));
  log::Warning(absl::StrCat("refresh token reuse detected; revoked family ", parent.family_id,
                            " of client '", parent.client_id, "'"));
  if (config_.on_refresh_reuse) {
    config_.on_refresh_reuse(
        RefreshReuseEvent{parent.family_id, parent.subject, parent.client_id, presenter_client_id});
  }
}

// --- Revoke -------------------------------------------------------------------------------------

absl::Status TokenService::StoreAndApply(const Revocation& revocation) {
  absl::Status status = store_.AddRevocation(revocation);  // durable first
  if (!status.ok()) return StoreError("AddRevocation", std::move(status));
  // This replica honours it at once; the feed's echo later is an idempotent no-op.
  denylist_.Apply(revocation);
  return absl::OkStatus();
}

absl::Status TokenService::RevokeAccessToken(const RevokeParams& params, absl::Time now) {
  const std::shared_ptr<const jwt::KeySet> keys = key_ring_.VerificationKeys();
  absl::StatusOr<jwt::VerifiedJwt> verified = verifier_.VerifyAndDecode(
      params.value, *keys, jwt::Expectations::AnyAudienceForRevocation(), now);
  // RFC 7009 §2.2: a token that is invalid, expired or not ours needs no revocation: OK.
  // Its signature is checked first so nobody can plant denylist entries with forged tokens.
  if (!verified.ok() || verified->jwt_id().empty()) return absl::OkStatus();
  if (!params.client_id.empty() && params.client_id != verified->client_id()) {
    return absl::PermissionDeniedError("token was issued to another client");
  }
  Revocation revocation;
  revocation.kind = Revocation::Kind::kTokenId;
  revocation.key = verified->jwt_id();
  revocation.expires_at = verified->expires_at() + config_.clock_skew;
  revocation.revoked_at = now;
  revocation.reason = params.reason;
  return StoreAndApply(revocation);
}

absl::Status TokenService::RevokeRefreshToken(const RevokeParams& params, absl::Time now) {
  if (!IsWellFormedRefreshToken(params.value)) return absl::OkStatus();  // unknown: RFC 7009
  TOKEND_ASSIGN_OR_RETURN(const std::string hash, HashRefreshToken(params.value));
  absl::StatusOr<std::optional<storage::RefreshTokenRecord>> found = store_.FindRefreshToken(hash);
  if (!found.ok()) return StoreError("FindRefreshToken", found.status());
  if (!found->has_value()) return absl::OkStatus();
  const storage::RefreshTokenRecord& record = **found;
  if (!params.client_id.empty() && params.client_id != record.client_id) {
    return absl::PermissionDeniedError("refresh token was issued to another client");
  }
  return StoreAndApply(storage::FamilyRevocation(record, now, AccessTokenMargin(), params.reason));
}

absl::Status TokenService::Revoke(const RevokeParams& params) {
  if (params.value.empty())
    return absl::InvalidArgumentError("the token or subject to revoke is required");
  if (params.value.size() > RequestLimits::kMaxRevokeValueBytes) {
    return absl::InvalidArgumentError(absl::StrCat("the value to revoke is longer than ",
                                                   RequestLimits::kMaxRevokeValueBytes, " bytes"));
  }
  TOKEND_RETURN_IF_ERROR(ValidateReason(params.reason));
  TOKEND_RETURN_IF_ERROR(ValidateClientId(params.client_id));
  const absl::Time now = clock_.Now();

  absl::Status status;
  switch (params.target) {
    case storage::RevokeTarget::kAccessToken:
      status = RevokeAccessToken(params, now);
      break;
    case storage::RevokeTarget::kRefreshToken:
      status = RevokeRefreshToken(params, now);
      break;
    case storage::RevokeTarget::kTokenId: {
      if (params.value.size() > RequestLimits::kMaxSubjectBytes || !IsPrintableUtf8(params.value)) {
        return absl::InvalidArgumentError("token_id must be at most 256 bytes of printable text");
      }
      Revocation revocation;
      revocation.kind = Revocation::Kind::kTokenId;
      revocation.key = params.value;
      // No token with this jti can outlive the longest access lifetime from now.
      revocation.expires_at = now + config_.access_ttl_max + config_.clock_skew;
      revocation.revoked_at = now;
      revocation.reason = params.reason;
      status = StoreAndApply(revocation);
      break;
    }
    case storage::RevokeTarget::kSubject: {
      TOKEND_RETURN_IF_ERROR(ValidateSubject(params.value));
      Revocation revocation;
      revocation.kind = Revocation::Kind::kSubject;
      revocation.key = params.value;
      revocation.not_before = now;  // every token issued before now
      revocation.expires_at =
          now + std::max(config_.access_ttl_max, config_.refresh_family_ttl) + config_.clock_skew;
      revocation.revoked_at = now;
      revocation.reason = params.reason;
      status = StoreAndApply(revocation);  // the store also revokes the subject's families
      break;
    }
  }
  if (status.ok()) metrics_.RecordRevocation(params.target);
  return status;
}

// --- JWKS and readiness -------------------------------------------------------------------------

std::string TokenService::JwksJson() const {
  return key_ring_.VerificationKeys()->ToPublicJwksJson();
}

absl::Status TokenService::ReadyStatus() const {
  const absl::Time now = clock_.Now();
  if (denylist_.last_sync() == absl::InfinitePast()) {
    return absl::UnavailableError("the revocation list has not been loaded yet");
  }
  if (!denylist_.IsUsable(now)) return absl::UnavailableError("the revocation list is stale");
  return absl::OkStatus();
}

}  // namespace tokend::core
