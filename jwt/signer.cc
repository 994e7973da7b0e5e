#include "jwt/signer.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "jwt/internal/base64url_append.h"
#include "jwt/internal/json_append.h"
#include "jwt/internal/numeric_date.h"
#include "jwt/internal/strict_json.h"
#include "util/status_macros.h"

// Hot path. A token is built in two buffers: the payload JSON (one std::string, reserved once)
// and the token itself, into which the cached header, the payload's base64url and the
// signature's base64url are appended in place. The bytes are those the validating RapidJSON
// writer produced before (jwt/internal/json_append.h), and every check it made is still made.

namespace tokend::jwt {
namespace {

using internal::AppendBase64Url;
using internal::AppendJsonString;

// Covers a typical access token's payload (~330 bytes) without regrowing.
constexpr size_t kPayloadReserve = 512;
// Per-thread cache of encoded headers; a service signs with one or two keys at a time.
constexpr size_t kHeaderCacheEntries = 4;

absl::Status Invalid(std::string_view phrase) {
  return absl::InvalidArgumentError(std::string("claims: ").append(phrase));
}

size_t Base64UrlLength(size_t bytes) { return (bytes * 4 + 2) / 3; }

// '.' + the base64url of a signature: exact for EdDSA, ES256, HS256 and RSA-2048; a larger RSA
// modulus regrows the token once.
size_t SignatureReserve(Algorithm algorithm) {
  return 1 + Base64UrlLength(algorithm == Algorithm::kRS256 ? 256 : 64);
}

// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). Anything else would not survive
// the space-separated encoding or would need escaping a relying party may get wrong.
bool IsScopeToken(std::string_view scope) {
  if (scope.empty()) return false;
  return std::ranges::none_of(
      scope, [](unsigned char c) { return c < 0x21 || c > 0x7E || c == 0x22 || c == 0x5C; });
}

// Writes one JSON object into `out`. Every member is written with a leading ',' (for the
// literal names below, `,"name":` in one append); End() turns the first one into '{'.
class ObjectAppender {
 public:
  explicit ObjectAppender(std::string* out) : out_(out), start_(out->size()) {}

  // `prefix` is `,"<name>":` for one of this file's names, which need no escaping.
  void LiteralKey(std::string_view prefix) { out_->append(prefix); }
  // Any name; false (nothing usable written) when it is not strict UTF-8.
  bool Key(std::string_view name) {
    out_->push_back(',');
    if (!AppendJsonString(name, out_)) return false;
    out_->push_back(':');
    return true;
  }
  void End() {
    if (out_->size() == start_) {
      out_->push_back('{');
    } else {
      (*out_)[start_] = '{';
    }
    out_->push_back('}');
  }
  std::string* out() { return out_; }

 private:
  std::string* out_;
  size_t start_;
};

absl::Status AppendStringMember(ObjectAppender& object, std::string_view prefix,
                                std::string_view value) {
  if (value.empty()) return absl::OkStatus();
  object.LiteralKey(prefix);
  if (!AppendJsonString(value, object.out())) return Invalid("string claim is not valid UTF-8");
  return absl::OkStatus();
}

absl::Status AppendDateMember(ObjectAppender& object, std::string_view prefix, absl::Time t) {
  std::optional<int64_t> seconds = internal::ToNumericDate(t);
  if (!seconds.has_value()) return Invalid("time out of NumericDate range");
  object.LiteralKey(prefix);
  // An integer: NumericDate is whole seconds here.
  char digits[24];
  const std::to_chars_result end = std::to_chars(digits, digits + sizeof digits, *seconds);
  object.out()->append(digits, static_cast<size_t>(end.ptr - digits));
  return absl::OkStatus();
}

absl::Status AppendCustomClaims(ObjectAppender& object, std::string_view custom_json) {
  if (custom_json.empty()) return absl::OkStatus();
  // The same strict parse as for untrusted input: grammar, UTF-8, no duplicates, bounded depth.
  internal::StrictJsonDocument document;
  if (!document.Parse(custom_json, JsonLimits{}).ok() || !document.root().IsObject()) {
    return Invalid("custom claims are not a strict JSON object");
  }
  for (const auto& member : document.root().GetObject()) {
    // A custom "exp" or "aud" would override what the service decided.
    if (IsRegisteredClaimName(internal::StringOf(member.name))) {
      return Invalid("custom claim uses a registered name");
    }
    // Re-serialized from the DOM (not copied from the text), so the payload stays compact and
    // canonical whatever whitespace or escapes the caller used.
    if (!object.Key(internal::StringOf(member.name)) ||
        !internal::AppendJsonValue(member.value, object.out())) {
      return Invalid("custom claims cannot be serialized");
    }
  }
  return absl::OkStatus();
}

absl::Status SerializeClaims(const JwtClaims& claims, std::string* out) {
  ObjectAppender object(out);
  TOKEND_RETURN_IF_ERROR(AppendStringMember(object, R"(,"iss":)", claims.issuer));
  TOKEND_RETURN_IF_ERROR(AppendStringMember(object, R"(,"sub":)", claims.subject));
  if (claims.audiences.size() == 1) {
    if (claims.audiences[0].empty()) return Invalid("empty audience");
    TOKEND_RETURN_IF_ERROR(AppendStringMember(object, R"(,"aud":)", claims.audiences[0]));
  } else if (claims.audiences.size() > 1) {
    object.LiteralKey(R"(,"aud":)");
    out->push_back('[');
    for (size_t i = 0; i < claims.audiences.size(); ++i) {
      const std::string& aud = claims.audiences[i];
      if (aud.empty()) return Invalid("empty audience");
      if (i > 0) out->push_back(',');
      if (!AppendJsonString(aud, out)) return Invalid("audience is not valid UTF-8");
    }
    out->push_back(']');
  }
  // exp is mandatory: a token that never expires cannot be contained once leaked.
  if (claims.expires_at == absl::UnixEpoch()) return Invalid("missing exp");
  TOKEND_RETURN_IF_ERROR(AppendDateMember(object, R"(,"exp":)", claims.expires_at));
  if (claims.not_before.has_value()) {
    TOKEND_RETURN_IF_ERROR(AppendDateMember(object, R"(,"nbf":)", *claims.not_before));
  }
  // iat is written unless left at its default (the epoch), which means "unset".
  if (claims.issued_at != absl::UnixEpoch()) {
    TOKEND_RETURN_IF_ERROR(AppendDateMember(object, R"(,"iat":)", claims.issued_at));
  }
  TOKEND_RETURN_IF_ERROR(AppendStringMember(object, R"(,"jti":)", claims.jwt_id));
  TOKEND_RETURN_IF_ERROR(AppendStringMember(object, R"(,"client_id":)", claims.client_id));
  if (!claims.scopes.empty()) {
    for (const std::string& s : claims.scopes) {
      if (!IsScopeToken(s)) return Invalid("invalid scope token");
    }
    // Scope tokens are printable ASCII without '"' or '\\' (checked above), so the joined value
    // is written as is: JSON escaping would not change a byte.
    object.LiteralKey(R"(,"scope":)");
    out->push_back('"');
    for (size_t i = 0; i < claims.scopes.size(); ++i) {
      if (i > 0) out->push_back(' ');
      out->append(claims.scopes[i]);
    }
    out->push_back('"');
  }
  TOKEND_RETURN_IF_ERROR(AppendStringMember(object, R"(,"sid":)", claims.session_id));
  TOKEND_RETURN_IF_ERROR(AppendCustomClaims(object, claims.custom_claims_json));
  object.End();
  return absl::OkStatus();
}

// Appends base64url({"alg":<alg>,"kid":<kid>,"typ":"at+jwt"}) + "." for `key` (the key decides
// alg and kid; typ per RFC 9068 §2.1). The text depends on nothing but (algorithm, kid), which
// is exactly the cache key, so an entry can never be stale; the cache is per thread, so there is
// no lock and nothing is shared between threads.
absl::Status AppendEncodedHeader(const SigningKey& key, std::string* token) {
  struct Entry {
    Algorithm algorithm = Algorithm::kEdDSA;
    std::string kid;
    std::string encoded;  // empty while the entry is unused
  };
  thread_local std::array<Entry, kHeaderCacheEntries> cache;
  thread_local size_t next_victim = 0;
  for (const Entry& entry : cache) {
    if (!entry.encoded.empty() && entry.algorithm == key.algorithm() && entry.kid == key.kid()) {
      token->append(entry.encoded);
      return absl::OkStatus();
    }
  }
  std::string json;
  json.reserve(48 + key.kid().size());
  json.append(R"({"alg":)");
  AppendJsonString(AlgorithmName(key.algorithm()), &json);
  json.append(R"(,"kid":)");
  if (!AppendJsonString(key.kid(), &json)) return Invalid("kid is not valid UTF-8");
  json.append(R"(,"typ":"at+jwt"})");
  Entry& entry = cache[next_victim];
  next_victim = (next_victim + 1) % kHeaderCacheEntries;
  entry.algorithm = key.algorithm();
  entry.kid = key.kid();
  entry.encoded.clear();
  AppendBase64Url(json, &entry.encoded);
  entry.encoded.push_back('.');
  token->append(entry.encoded);
  return absl::OkStatus();
}

// `token` holds the signing input (header '.' payload); appends '.' and the signature.
absl::StatusOr<std::string> AppendSignature(std::string token, const SigningKey& key) {
  TOKEND_ASSIGN_OR_RETURN(std::string signature, key.Sign(token));
  token.push_back('.');
  AppendBase64Url(signature, &token);
  return token;
}

}  // namespace

absl::StatusOr<std::string> SignCompactJws(std::string_view header_json, std::string_view payload,
                                           const SigningKey& key) {
  std::string token;
  token.reserve(Base64UrlLength(header_json.size()) + 1 + Base64UrlLength(payload.size()) +
                SignatureReserve(key.algorithm()));
  AppendBase64Url(header_json, &token);
  token.push_back('.');
  AppendBase64Url(payload, &token);
  return AppendSignature(std::move(token), key);
}

absl::StatusOr<std::string> SignAccessToken(const JwtClaims& claims, const SigningKey& key) {
  std::string payload;
  payload.reserve(kPayloadReserve);
  TOKEND_RETURN_IF_ERROR(SerializeClaims(claims, &payload));
  std::string token;
  // The header prefix is ~100 characters for a thumbprint kid; a longer kid regrows once.
  token.reserve(128 + Base64UrlLength(payload.size()) + SignatureReserve(key.algorithm()));
  TOKEND_RETURN_IF_ERROR(AppendEncodedHeader(key, &token));
  AppendBase64Url(payload, &token);
  return AppendSignature(std::move(token), key);
}

}  // namespace tokend::jwt
