#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "jwt/algorithm.h"
#include "jwt/key_set.h"
#include "jwt/verified_jwt.h"
#include "jwt/verify_error.h"

namespace tokend::jwt {

// What one call expects of a token, beyond the verifier's fixed policy.
struct Expectations {
  std::string audience;                      // required unless any_audience
  std::vector<std::string> required_scopes;  // each must appear in "scope"
  // Only for revocation by token, where any audience of ours is acceptable.
  bool any_audience = false;

  static Expectations ForAudience(std::string audience, std::vector<std::string> scopes = {}) {
    return Expectations{std::move(audience), std::move(scopes), false};
  }
  static Expectations AnyAudienceForRevocation() { return Expectations{{}, {}, true}; }
};

// Verifies compact JWS access tokens against a KeySet. Strict by default; every relaxation is a
// named builder call. Stateless and thread-safe; time is passed in, so it never reads a clock.
//
// Checks, in order, each failing with its VerifyError (see verify_error.h):
//   size (TOO_LARGE) -> three base64url segments, header JSON (MALFORMED) -> alg in allow-list
//   (ALGORITHM_NOT_ALLOWED) -> crit present, or jku/x5u/jwk/x5c present (MALFORMED) -> kid known
//   and its key's alg == header alg (UNKNOWN_KEY / ALGORITHM_NOT_ALLOWED) -> signature
//   (BAD_SIGNATURE) -> typ "at+jwt" or "application/at+jwt" (WRONG_TYPE) -> payload JSON and
//   claim types (INVALID_CLAIMS) -> exp (EXPIRED) -> nbf, iat in the future (NOT_YET_VALID) ->
//   iss (WRONG_ISSUER) -> aud (WRONG_AUDIENCE) -> scopes (INSUFFICIENT_SCOPE).
class JwtVerifier {
 public:
  class Builder {
   public:
    Builder& ExpectIssuer(std::string issuer);
    // Adds an algorithm to the allow-list; the list starts empty.
    Builder& AllowAlgorithm(Algorithm algorithm);
    // Default 30 s; capped at 5 min (INVALID_ARGUMENT from Build above the cap).
    Builder& SetClockSkew(absl::Duration skew);
    // Default 8 KiB; at most 64 KiB.
    Builder& SetMaxTokenSize(size_t bytes);
    // INVALID_ARGUMENT without an issuer or an allowed algorithm.
    absl::StatusOr<JwtVerifier> Build() const;

   private:
    std::string issuer_;
    absl::flat_hash_set<Algorithm> algorithms_;
    absl::Duration clock_skew_ = absl::Seconds(30);
    size_t max_token_size_ = 8192;
  };

  // OK and a VerifiedJwt, or an UNAUTHENTICATED status carrying a VerifyError.
  absl::StatusOr<VerifiedJwt> VerifyAndDecode(std::string_view token, const KeySet& keys,
                                              const Expectations& expectations,
                                              absl::Time now) const;

  absl::Duration clock_skew() const { return clock_skew_; }

 private:
  JwtVerifier() = default;

  std::string issuer_;
  absl::flat_hash_set<Algorithm> algorithms_;
  absl::Duration clock_skew_;
  size_t max_token_size_ = 0;
};

// JWS-level verification with no JWT semantics (no typ or claim checks), for RFC 7515 vectors
// and other JWS users: size, segments, header, alg == key's alg, no crit, signature. Returns the
// decoded payload bytes.
absl::StatusOr<std::string> VerifyCompactJws(std::string_view jws, const VerificationKey& key,
                                             size_t max_size = 65536);

}  // namespace tokend::jwt
