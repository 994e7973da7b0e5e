#include "jwt/verifier.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "jwt/base64url.h"
#include "jwt/internal/numeric_date.h"
#include "jwt/internal/strict_json.h"

namespace tokend::jwt {
namespace {

using internal::StringOf;

constexpr absl::Duration kMaxClockSkew = absl::Minutes(5);
constexpr size_t kMaxTokenSizeCap = size_t{64} * 1024;
constexpr int kMaxJsonDepth = 16;

absl::Status Fail(VerifyError error, std::string_view phrase) {
  return MakeVerifyError(error, phrase);
}

// The three decoded parts of a compact JWS, and the signed ASCII prefix.
struct CompactParts {
  std::string header;
  std::string payload;
  std::string signature;
  std::string_view signing_input;
};

// Splits into exactly three segments and decodes each with strict base64url (RFC 7515 §7.1).
// The header and signature must be non-empty; the payload may be empty only when allowed.
absl::Status SplitCompact(std::string_view token, bool allow_empty_payload, CompactParts& out) {
  const size_t dot1 = token.find('.');
  if (dot1 == std::string_view::npos) return Fail(VerifyError::kMalformed, "not three segments");
  const size_t dot2 = token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return Fail(VerifyError::kMalformed, "not three segments");
  }
  const std::string_view header = token.substr(0, dot1);
  const std::string_view payload = token.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string_view signature = token.substr(dot2 + 1);
  // An empty signature is an unsecured JWS ("alg":"none" style); never acceptable.
  if (header.empty() || signature.empty() || (payload.empty() && !allow_empty_payload)) {
    return Fail(VerifyError::kMalformed, "empty segment");
  }
  absl::StatusOr<std::string> h = Base64UrlDecode(header);
  absl::StatusOr<std::string> p = Base64UrlDecode(payload);
  absl::StatusOr<std::string> s = Base64UrlDecode(signature);
  if (!h.ok() || !p.ok() || !s.ok()) return Fail(VerifyError::kMalformed, "invalid base64url");
  out.header = std::move(*h);
  out.payload = std::move(*p);
  out.signature = std::move(*s);
  out.signing_input = token.substr(0, dot2);
  return absl::OkStatus();
}

// The protected header members tokend looks at.
struct Header {
  std::optional<Algorithm> alg;
  const rapidjson::Value* kid = nullptr;
  const rapidjson::Value* typ = nullptr;
};

// Which header members a token may carry.
enum class HeaderMembers {
  // Exactly what tokend's signer writes: alg, kid, typ. RFC 8725 §2.8/§3.1: a member the
  // verifier does not act on (b64, cty, zip, x5t, ...) changes how some library would read the
  // token, so tokend, which verifies only tokens it signed, refuses them all.
  kOnlyTokends,
  // Any member except crit and embedded keys: the JWS-level entry point (RFC 7515 vectors).
  kAnyButKeysAndCrit,
};

// Parses the header and applies the checks shared by both verification entry points:
// strict JSON object (MALFORMED), "alg" a string naming an algorithm in `allowed` (MALFORMED /
// ALGORITHM_NOT_ALLOWED), no "crit", no embedded or referenced key, and with kOnlyTokends no
// member but alg, kid and typ (MALFORMED).
template <typename AllowedFn>
absl::Status CheckHeader(internal::StrictJsonDocument& document, std::string_view header_json,
                         AllowedFn allowed, HeaderMembers members, Header& out) {
  const JsonLimits limits{.max_bytes = header_json.size(), .max_depth = kMaxJsonDepth};
  if (!document.Parse(header_json, limits).ok() || !document.root().IsObject()) {
    return Fail(VerifyError::kMalformed, "header is not a strict JSON object");
  }
  const rapidjson::Value* alg = nullptr;
  bool crit = false;
  bool embedded_key = false;
  bool other_member = false;
  for (const auto& member : document.root().GetObject()) {
    const std::string_view name = StringOf(member.name);
    if (name == "alg") {
      alg = &member.value;
    } else if (name == "kid") {
      out.kid = &member.value;
    } else if (name == "typ") {
      out.typ = &member.value;
    } else if (name == "crit") {
      crit = true;
    } else if (name == "jku" || name == "x5u" || name == "jwk" || name == "x5c") {
      embedded_key = true;
    } else {
      other_member = true;
    }
  }
  if (alg == nullptr || !alg->IsString()) return Fail(VerifyError::kMalformed, "missing alg");
  // Exact names only; "none", "None" or "HS256 " select nothing.
  out.alg = AlgorithmFromName(StringOf(*alg));
  if (!out.alg.has_value() || !allowed(*out.alg)) {
    return Fail(VerifyError::kAlgorithmNotAllowed, "algorithm not allowed");
  }
  // RFC 7515 §4.1.11: tokend understands no extension, so any "crit" must be rejected.
  if (crit) return Fail(VerifyError::kMalformed, "critical header not supported");
  // Keys come only from our KeySet; a token naming its own key (or where to fetch it) is an
  // attack, even though those members would be ignored.
  if (embedded_key) return Fail(VerifyError::kMalformed, "embedded key reference not allowed");
  if (other_member && members == HeaderMembers::kOnlyTokends) {
    return Fail(VerifyError::kMalformed, "header member other than alg, kid, typ");
  }
  return absl::OkStatus();
}

// RFC 8725 §3.11 / RFC 9068 §4: explicit typing; "application/" may be omitted (RFC 7515
// §4.1.9) and media types compare case-insensitively.
bool IsAccessTokenType(const rapidjson::Value* typ) {
  if (typ == nullptr || !typ->IsString()) return false;
  absl::string_view value(typ->GetString(), typ->GetStringLength());
  if (value.size() > 12 && absl::EqualsIgnoreCase(value.substr(0, 12), "application/")) {
    value.remove_prefix(12);
  }
  return absl::EqualsIgnoreCase(value, "at+jwt");
}

// A NumericDate claim: a JSON number (integer or finite float) within the bounds of
// numeric_date.h.
std::optional<absl::Time> NumericDate(const rapidjson::Value& value) {
  if (value.IsInt64()) {
    const int64_t v = value.GetInt64();
    if (v < internal::kMinNumericDate || v > internal::kMaxNumericDate) return std::nullopt;
    return absl::FromUnixSeconds(v);
  }
  if (!value.IsDouble()) return std::nullopt;  // uint64 above int64, strings, bools, null, ...
  const double v = value.GetDouble();
  // The parser refuses NaN and infinities; the comparisons also reject them.
  if (!(v >= static_cast<double>(internal::kMinNumericDate) &&
        v <= static_cast<double>(internal::kMaxNumericDate))) {
    return std::nullopt;
  }
  return absl::UnixEpoch() + absl::Seconds(v);
}

// The registered claims, found in one pass over the payload.
struct ClaimRefs {
  const rapidjson::Value* iss = nullptr;
  const rapidjson::Value* sub = nullptr;
  const rapidjson::Value* aud = nullptr;
  const rapidjson::Value* exp = nullptr;
  const rapidjson::Value* nbf = nullptr;
  const rapidjson::Value* iat = nullptr;
  const rapidjson::Value* jti = nullptr;
  const rapidjson::Value* client_id = nullptr;
  const rapidjson::Value* scope = nullptr;
  const rapidjson::Value* sid = nullptr;
};

ClaimRefs FindClaims(const rapidjson::Value& payload) {
  ClaimRefs refs;
  for (const auto& member : payload.GetObject()) {
    const std::string_view name = StringOf(member.name);
    const rapidjson::Value* v = &member.value;
    if (name == "iss") {
      refs.iss = v;
    } else if (name == "sub") {
      refs.sub = v;
    } else if (name == "aud") {
      refs.aud = v;
    } else if (name == "exp") {
      refs.exp = v;
    } else if (name == "nbf") {
      refs.nbf = v;
    } else if (name == "iat") {
      refs.iat = v;
    } else if (name == "jti") {
      refs.jti = v;
    } else if (name == "client_id") {
      refs.client_id = v;
    } else if (name == "scope") {
      refs.scope = v;
    } else if (name == "sid") {
      refs.sid = v;
    }
  }
  return refs;
}

bool OptionalStringInto(const rapidjson::Value* value, std::string& out) {
  if (value == nullptr) return true;
  if (!value->IsString()) return false;
  out.assign(value->GetString(), value->GetStringLength());
  return true;
}

void SplitScopes(std::string_view scope, std::vector<std::string>& out) {
  size_t pos = 0;
  while (pos < scope.size()) {
    size_t end = scope.find(' ', pos);
    if (end == std::string_view::npos) end = scope.size();
    if (end > pos) out.emplace_back(scope.substr(pos, end - pos));
    pos = end + 1;
  }
}

}  // namespace

// ---- Builder ----

JwtVerifier::Builder& JwtVerifier::Builder::ExpectIssuer(std::string issuer) {
  issuer_ = std::move(issuer);
  return *this;
}

JwtVerifier::Builder& JwtVerifier::Builder::AllowAlgorithm(Algorithm algorithm) {
  algorithms_.insert(algorithm);
  return *this;
}

JwtVerifier::Builder& JwtVerifier::Builder::SetClockSkew(absl::Duration skew) {
  clock_skew_ = skew;
  return *this;
}

JwtVerifier::Builder& JwtVerifier::Builder::SetMaxTokenSize(size_t bytes) {
  max_token_size_ = bytes;
  return *this;
}

absl::StatusOr<JwtVerifier> JwtVerifier::Builder::Build() const {
  if (issuer_.empty()) return absl::InvalidArgumentError("verifier: an issuer is required");
  if (algorithms_.empty()) {
    return absl::InvalidArgumentError("verifier: at least one algorithm must be allowed");
  }
  // A large skew silently extends every token's lifetime; cap it.
  if (clock_skew_ < absl::ZeroDuration() || clock_skew_ > kMaxClockSkew) {
    return absl::InvalidArgumentError("verifier: clock skew must be within [0, 5 min]");
  }
  if (max_token_size_ == 0 || max_token_size_ > kMaxTokenSizeCap) {
    return absl::InvalidArgumentError("verifier: max token size must be within (0, 64 KiB]");
  }
  JwtVerifier verifier;
  verifier.issuer_ = issuer_;
  verifier.algorithms_ = algorithms_;
  verifier.clock_skew_ = clock_skew_;
  verifier.max_token_size_ = max_token_size_;
  return verifier;
}

// ---- JwtVerifier ----

absl::StatusOr<VerifiedJwt> JwtVerifier::VerifyAndDecode(std::string_view token, const KeySet& keys,
                                                         const Expectations& expectations,
                                                         absl::Time now) const {
  // Bounded before any work, so oversized input costs nothing.
  if (token.size() > max_token_size_) return Fail(VerifyError::kTooLarge, "token too large");
  CompactParts parts;
  absl::Status status = SplitCompact(token, /*allow_empty_payload=*/false, parts);
  if (!status.ok()) return status;

  internal::StrictJsonDocument header_doc;
  Header header;
  status = CheckHeader(
      header_doc, parts.header, [this](Algorithm alg) { return algorithms_.contains(alg); },
      HeaderMembers::kOnlyTokends, header);
  if (!status.ok()) return status;

  if (header.kid == nullptr) return Fail(VerifyError::kUnknownKey, "missing kid");
  if (!header.kid->IsString()) return Fail(VerifyError::kMalformed, "kid is not a string");
  const VerificationKey* key = keys.Find(StringOf(*header.kid));
  if (key == nullptr) return Fail(VerifyError::kUnknownKey, "unknown kid");
  // The key's algorithm is authoritative: an HS256 header on an RSA key's kid (key confusion)
  // stops here.
  if (key->algorithm() != *header.alg) {
    return Fail(VerifyError::kAlgorithmNotAllowed, "algorithm does not match the key");
  }
  if (!key->VerifySignature(parts.signing_input, parts.signature)) {
    return Fail(VerifyError::kBadSignature, "signature verification failed");
  }

  // Only now, with the signature verified, is anything in the token acted upon.
  if (!IsAccessTokenType(header.typ)) return Fail(VerifyError::kWrongType, "typ is not at+jwt");

  internal::StrictJsonDocument payload_doc;
  const JsonLimits payload_limits{.max_bytes = max_token_size_, .max_depth = kMaxJsonDepth};
  if (!payload_doc.Parse(parts.payload, payload_limits).ok() || !payload_doc.root().IsObject()) {
    return Fail(VerifyError::kInvalidClaims, "payload is not a strict JSON object");
  }
  const ClaimRefs claims = FindClaims(payload_doc.root());

  VerifiedJwt jwt;
  // Types first, so a malformed claim is INVALID_CLAIMS whatever else is wrong.
  if (claims.exp == nullptr) return Fail(VerifyError::kInvalidClaims, "missing exp");
  std::optional<absl::Time> exp = NumericDate(*claims.exp);
  if (!exp.has_value()) return Fail(VerifyError::kInvalidClaims, "invalid exp");
  jwt.expires_at_ = *exp;
  if (claims.nbf != nullptr) {
    jwt.not_before_ = NumericDate(*claims.nbf);
    if (!jwt.not_before_.has_value()) return Fail(VerifyError::kInvalidClaims, "invalid nbf");
  }
  if (claims.iat != nullptr) {
    std::optional<absl::Time> iat = NumericDate(*claims.iat);
    if (!iat.has_value()) return Fail(VerifyError::kInvalidClaims, "invalid iat");
    jwt.issued_at_ = *iat;
  }
  if (!OptionalStringInto(claims.iss, jwt.issuer_) ||
      !OptionalStringInto(claims.sub, jwt.subject_) ||
      !OptionalStringInto(claims.jti, jwt.jwt_id_) ||
      !OptionalStringInto(claims.client_id, jwt.client_id_) ||
      !OptionalStringInto(claims.sid, jwt.session_id_)) {
    return Fail(VerifyError::kInvalidClaims, "string claim has the wrong type");
  }
  if (claims.aud != nullptr) {
    if (claims.aud->IsString()) {
      jwt.audiences_.emplace_back(StringOf(*claims.aud));
    } else if (claims.aud->IsArray()) {
      for (const rapidjson::Value& aud : claims.aud->GetArray()) {
        if (!aud.IsString()) return Fail(VerifyError::kInvalidClaims, "aud has the wrong type");
        jwt.audiences_.emplace_back(StringOf(aud));
      }
    } else {
      return Fail(VerifyError::kInvalidClaims, "aud has the wrong type");
    }
  }
  if (claims.scope != nullptr) {
    if (!claims.scope->IsString()) {
      return Fail(VerifyError::kInvalidClaims, "scope has the wrong type");
    }
    SplitScopes(StringOf(*claims.scope), jwt.scopes_);
  }

  // RFC 7519 §4.1.4: valid only strictly before exp (plus the skew).
  if (now - clock_skew_ >= jwt.expires_at_) return Fail(VerifyError::kExpired, "token expired");
  if (jwt.not_before_.has_value() && now + clock_skew_ < *jwt.not_before_) {
    return Fail(VerifyError::kNotYetValid, "token not yet valid");
  }
  // A token issued in the future was minted by a broken or hostile clock.
  if (claims.iat != nullptr && now + clock_skew_ < jwt.issued_at_) {
    return Fail(VerifyError::kNotYetValid, "token issued in the future");
  }
  if (claims.iss == nullptr || jwt.issuer_ != issuer_) {
    return Fail(VerifyError::kWrongIssuer, "issuer mismatch");
  }
  if (!expectations.any_audience) {
    bool match = false;
    // An empty expected audience is a caller bug; it must not match an empty "aud".
    if (!expectations.audience.empty()) {
      for (const std::string& aud : jwt.audiences_) match |= aud == expectations.audience;
    }
    if (!match) return Fail(VerifyError::kWrongAudience, "audience mismatch");
  }
  for (const std::string& required : expectations.required_scopes) {
    bool found = false;
    for (const std::string& scope : jwt.scopes_) {
      if (scope == required) {
        found = true;
        break;
      }
    }
    if (!found) return Fail(VerifyError::kInsufficientScope, "required scope missing");
  }

  jwt.kid_ = key->kid();
  jwt.algorithm_ = key->algorithm();
  jwt.payload_json_ = std::move(parts.payload);
  return jwt;
}

absl::StatusOr<std::string> VerifyCompactJws(std::string_view jws, const VerificationKey& key,
                                             size_t max_size) {
  if (jws.size() > max_size) return Fail(VerifyError::kTooLarge, "token too large");
  CompactParts parts;
  absl::Status status = SplitCompact(jws, /*allow_empty_payload=*/true, parts);
  if (!status.ok()) return status;
  internal::StrictJsonDocument header_doc;
  Header header;
  status = CheckHeader(
      header_doc, parts.header, [&key](Algorithm alg) { return alg == key.algorithm(); },
      HeaderMembers::kAnyButKeysAndCrit, header);
  if (!status.ok()) return status;
  if (!key.VerifySignature(parts.signing_input, parts.signature)) {
    return Fail(VerifyError::kBadSignature, "signature verification failed");
  }
  return std::move(parts.payload);
}

}  // namespace tokend::jwt
