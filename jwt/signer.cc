#include "jwt/signer.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "jwt/base64url.h"
#include "jwt/internal/numeric_date.h"
#include "jwt/internal/strict_json.h"
#include "util/status_macros.h"

namespace tokend::jwt {
namespace {

using internal::JsonWriter;
using internal::WriteString;

absl::Status Invalid(std::string_view phrase) {
  return absl::InvalidArgumentError(std::string("claims: ").append(phrase));
}

// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). Anything else would not survive
// the space-separated encoding or would need escaping a relying party may get wrong.
bool IsScopeToken(std::string_view scope) {
  if (scope.empty()) return false;
  for (unsigned char c : scope) {
    if (c < 0x21 || c > 0x7E || c == 0x22 || c == 0x5C) return false;
  }
  return true;
}

absl::Status WriteStringMember(JsonWriter& writer, std::string_view name, std::string_view value) {
  if (value.empty()) return absl::OkStatus();
  writer.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
  if (!WriteString(writer, value)) return Invalid("string claim is not valid UTF-8");
  return absl::OkStatus();
}

absl::Status WriteDateMember(JsonWriter& writer, std::string_view name, absl::Time t) {
  std::optional<int64_t> seconds = internal::ToNumericDate(t);
  if (!seconds.has_value()) return Invalid("time out of NumericDate range");
  writer.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
  writer.Int64(*seconds);
  return absl::OkStatus();
}

absl::Status WriteCustomClaims(JsonWriter& writer, std::string_view custom_json) {
  if (custom_json.empty()) return absl::OkStatus();
  internal::StrictJsonDocument document;
  if (!document.Parse(custom_json, JsonLimits{}).ok() || !document.root().IsObject()) {
    return Invalid("custom claims are not a strict JSON object");
  }
  for (const auto& member : document.root().GetObject()) {
    // A custom "exp" or "aud" would override what the service decided.
    if (IsRegisteredClaimName(internal::StringOf(member.name))) {
      return Invalid("custom claim uses a registered name");
    }
    if (!member.name.Accept(writer) || !member.value.Accept(writer)) {
      return Invalid("custom claims cannot be serialized");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> SerializeClaims(const JwtClaims& claims) {
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  writer.StartObject();
  TOKEND_RETURN_IF_ERROR(WriteStringMember(writer, "iss", claims.issuer));
  TOKEND_RETURN_IF_ERROR(WriteStringMember(writer, "sub", claims.subject));
  if (claims.audiences.size() == 1) {
    if (claims.audiences[0].empty()) return Invalid("empty audience");
    TOKEND_RETURN_IF_ERROR(WriteStringMember(writer, "aud", claims.audiences[0]));
  } else if (claims.audiences.size() > 1) {
    writer.Key("aud");
    writer.StartArray();
    for (const std::string& aud : claims.audiences) {
      if (aud.empty()) return Invalid("empty audience");
      if (!WriteString(writer, aud)) return Invalid("audience is not valid UTF-8");
    }
    writer.EndArray();
  }
  // exp is mandatory: a token that never expires cannot be contained once leaked.
  if (claims.expires_at == absl::UnixEpoch()) return Invalid("missing exp");
  TOKEND_RETURN_IF_ERROR(WriteDateMember(writer, "exp", claims.expires_at));
  if (claims.not_before.has_value()) {
    TOKEND_RETURN_IF_ERROR(WriteDateMember(writer, "nbf", *claims.not_before));
  }
  // iat is written unless left at its default (the epoch), which means "unset".
  if (claims.issued_at != absl::UnixEpoch()) {
    TOKEND_RETURN_IF_ERROR(WriteDateMember(writer, "iat", claims.issued_at));
  }
  TOKEND_RETURN_IF_ERROR(WriteStringMember(writer, "jti", claims.jwt_id));
  TOKEND_RETURN_IF_ERROR(WriteStringMember(writer, "client_id", claims.client_id));
  if (!claims.scopes.empty()) {
    std::string scope;
    for (const std::string& s : claims.scopes) {
      if (!IsScopeToken(s)) return Invalid("invalid scope token");
      if (!scope.empty()) scope.push_back(' ');
      scope.append(s);
    }
    TOKEND_RETURN_IF_ERROR(WriteStringMember(writer, "scope", scope));
  }
  TOKEND_RETURN_IF_ERROR(WriteStringMember(writer, "sid", claims.session_id));
  TOKEND_RETURN_IF_ERROR(WriteCustomClaims(writer, claims.custom_claims_json));
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace

absl::StatusOr<std::string> SignCompactJws(std::string_view header_json, std::string_view payload,
                                           const SigningKey& key) {
  std::string token;
  token.reserve((header_json.size() + payload.size()) * 4 / 3 + 400);
  token.append(Base64UrlEncode(header_json));
  token.push_back('.');
  token.append(Base64UrlEncode(payload));
  TOKEND_ASSIGN_OR_RETURN(std::string signature, key.Sign(token));
  token.push_back('.');
  token.append(Base64UrlEncode(signature));
  return token;
}

absl::StatusOr<std::string> SignAccessToken(const JwtClaims& claims, const SigningKey& key) {
  TOKEND_ASSIGN_OR_RETURN(std::string payload, SerializeClaims(claims));
  // The key decides alg and kid; typ per RFC 9068 §2.1.
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  writer.StartObject();
  writer.Key("alg");
  WriteString(writer, AlgorithmName(key.algorithm()));
  writer.Key("kid");
  if (!WriteString(writer, key.kid())) return Invalid("kid is not valid UTF-8");
  writer.Key("typ");
  writer.String("at+jwt");
  writer.EndObject();
  return SignCompactJws(std::string_view(buffer.GetString(), buffer.GetSize()), payload, key);
}

}  // namespace tokend::jwt
