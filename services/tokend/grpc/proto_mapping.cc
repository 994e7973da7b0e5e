#include "services/tokend/grpc/proto_mapping.h"

#include <cmath>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "util/status_macros.h"

namespace tokend::grpc {
namespace {

// google.protobuf.Timestamp: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999999Z.
constexpr int64_t kMinTimestampSeconds = -62135596800;
constexpr int64_t kMaxTimestampSeconds = 253402300799;
// google.protobuf.Duration: +-10,000 years.
constexpr int64_t kMaxDurationSeconds = 315576000000;

absl::Status RequireNonEmpty(const google::protobuf::RepeatedPtrField<std::string>& values,
                             absl::string_view field) {
  for (const std::string& value : values) {
    if (value.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(field, " has an empty entry"));
    }
  }
  return absl::OkStatus();
}

// JSON has no NaN, infinity or "no value": protobuf would print them as strings or drop them,
// so a client would get claims other than those it sent. Refused instead.
absl::Status CheckClaimValue(const google::protobuf::Value& value, int depth) {
  if (depth > 32) return absl::InvalidArgumentError("claims are nested too deeply");
  switch (value.kind_case()) {
    case google::protobuf::Value::KIND_NOT_SET:
      return absl::InvalidArgumentError("a claim has no value");
    case google::protobuf::Value::kNumberValue:
      if (!std::isfinite(value.number_value())) {
        return absl::InvalidArgumentError("a claim is not a finite number");
      }
      return absl::OkStatus();
    case google::protobuf::Value::kStructValue:
      for (const auto& [name, member] : value.struct_value().fields()) {
        TOKEND_RETURN_IF_ERROR(CheckClaimValue(member, depth + 1));
      }
      return absl::OkStatus();
    case google::protobuf::Value::kListValue:
      for (const google::protobuf::Value& element : value.list_value().values()) {
        TOKEND_RETURN_IF_ERROR(CheckClaimValue(element, depth + 1));
      }
      return absl::OkStatus();
    default:
      return absl::OkStatus();
  }
}

std::vector<std::string> ToVector(const google::protobuf::RepeatedPtrField<std::string>& values) {
  return {values.begin(), values.end()};
}

}  // namespace

void ToProtoTimestamp(absl::Time time, google::protobuf::Timestamp* out) {
  if (time <= absl::FromUnixSeconds(kMinTimestampSeconds)) {
    out->set_seconds(kMinTimestampSeconds);
    out->set_nanos(0);
    return;
  }
  if (time >= absl::FromUnixSeconds(kMaxTimestampSeconds)) {
    out->set_seconds(kMaxTimestampSeconds);
    out->set_nanos(0);
    return;
  }
  int64_t seconds = absl::ToUnixSeconds(time);  // rounds toward negative infinity
  out->set_seconds(seconds);
  out->set_nanos(
      static_cast<int32_t>(absl::ToInt64Nanoseconds(time - absl::FromUnixSeconds(seconds))));
}

absl::Time FromProtoTimestamp(const google::protobuf::Timestamp& timestamp) {
  return absl::FromUnixSeconds(timestamp.seconds()) + absl::Nanoseconds(timestamp.nanos());
}

void ToProtoDuration(absl::Duration duration, google::protobuf::Duration* out) {
  absl::Duration rem;
  int64_t seconds = absl::IDivDuration(duration, absl::Seconds(1), &rem);  // truncates to zero
  if (seconds > kMaxDurationSeconds) {
    seconds = kMaxDurationSeconds;
    rem = absl::ZeroDuration();
  } else if (seconds < -kMaxDurationSeconds) {
    seconds = -kMaxDurationSeconds;
    rem = absl::ZeroDuration();
  }
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(rem)));
}

absl::StatusOr<absl::Duration> FromProtoDuration(const google::protobuf::Duration& duration) {
  int64_t seconds = duration.seconds();
  int32_t nanos = duration.nanos();
  if (seconds > kMaxDurationSeconds || seconds < -kMaxDurationSeconds || nanos > 999999999 ||
      nanos < -999999999 || (seconds > 0 && nanos < 0) || (seconds < 0 && nanos > 0)) {
    return absl::InvalidArgumentError("malformed google.protobuf.Duration");
  }
  return absl::Seconds(seconds) + absl::Nanoseconds(nanos);
}

absl::StatusOr<core::IssueParams> IssueParamsFromProto(const v1::IssueRequest& request) {
  if (request.subject().empty()) return absl::InvalidArgumentError("subject is required");
  if (request.audience().empty()) {
    return absl::InvalidArgumentError("at least one audience is required");
  }
  TOKEND_RETURN_IF_ERROR(RequireNonEmpty(request.audience(), "audience"));
  TOKEND_RETURN_IF_ERROR(RequireNonEmpty(request.scopes(), "scopes"));
  core::IssueParams params;
  params.subject = request.subject();
  params.audiences = ToVector(request.audience());
  params.scopes = ToVector(request.scopes());
  if (request.has_claims() && request.claims().fields_size() > 0) {
    for (const auto& [name, value] : request.claims().fields()) {
      TOKEND_RETURN_IF_ERROR(CheckClaimValue(value, 1));
    }
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    auto status = google::protobuf::util::MessageToJsonString(request.claims(),
                                                              &params.custom_claims_json, options);
    if (!status.ok()) {
      return absl::InvalidArgumentError("claims cannot be expressed as JSON");
    }
  }
  if (request.has_ttl()) {
    TOKEND_ASSIGN_OR_RETURN(absl::Duration ttl, FromProtoDuration(request.ttl()));
    if (ttl <= absl::ZeroDuration()) return absl::InvalidArgumentError("ttl must be positive");
    params.ttl = ttl;
  }
  params.include_refresh_token = request.include_refresh_token();
  return params;
}

absl::StatusOr<core::VerifyParams> VerifyParamsFromProto(const v1::VerifyRequest& request) {
  if (request.access_token().empty()) {
    return absl::InvalidArgumentError("access_token is required");
  }
  if (request.audience().empty()) return absl::InvalidArgumentError("audience is required");
  TOKEND_RETURN_IF_ERROR(RequireNonEmpty(request.required_scopes(), "required_scopes"));
  core::VerifyParams params;
  params.access_token = request.access_token();
  params.audience = request.audience();
  params.required_scopes = ToVector(request.required_scopes());
  return params;
}

absl::StatusOr<core::RefreshParams> RefreshParamsFromProto(const v1::RefreshRequest& request) {
  if (request.refresh_token().empty()) {
    return absl::InvalidArgumentError("refresh_token is required");
  }
  TOKEND_RETURN_IF_ERROR(RequireNonEmpty(request.scopes(), "scopes"));
  core::RefreshParams params;
  params.refresh_token = request.refresh_token();
  params.scopes = ToVector(request.scopes());
  return params;
}

absl::StatusOr<core::RevokeParams> RevokeParamsFromProto(const v1::RevokeRequest& request) {
  core::RevokeParams params;
  switch (request.target_case()) {
    case v1::RevokeRequest::kAccessToken:
      params.target = storage::RevokeTarget::kAccessToken;
      params.value = request.access_token();
      break;
    case v1::RevokeRequest::kTokenId:
      params.target = storage::RevokeTarget::kTokenId;
      params.value = request.token_id();
      break;
    case v1::RevokeRequest::kRefreshToken:
      params.target = storage::RevokeTarget::kRefreshToken;
      params.value = request.refresh_token();
      break;
    case v1::RevokeRequest::kSubject:
      params.target = storage::RevokeTarget::kSubject;
      params.value = request.subject();
      break;
    case v1::RevokeRequest::TARGET_NOT_SET:
      return absl::InvalidArgumentError(
          "one of access_token, token_id, refresh_token or subject is required");
  }
  if (params.value.empty()) return absl::InvalidArgumentError("the revocation target is empty");
  params.reason = request.reason();
  return params;
}

void TokenResponseFromDomain(const core::IssuedTokens& tokens, v1::TokenResponse* response) {
  response->set_access_token(tokens.access_token);
  response->set_token_type("Bearer");
  ToProtoTimestamp(tokens.expires_at, response->mutable_expires_at());
  response->set_token_id(tokens.token_id);
  if (!tokens.refresh_token.empty()) {
    response->set_refresh_token(tokens.refresh_token);
    ToProtoTimestamp(tokens.refresh_expires_at, response->mutable_refresh_expires_at());
  }
}

v1::VerifyError VerifyErrorToProto(core::InvalidReason reason) {
  switch (reason) {
    case core::InvalidReason::kNone:
      return v1::VERIFY_ERROR_UNSPECIFIED;
    case core::InvalidReason::kMalformed:
      return v1::VERIFY_ERROR_MALFORMED;
    case core::InvalidReason::kTooLarge:
      return v1::VERIFY_ERROR_TOO_LARGE;
    case core::InvalidReason::kAlgorithmNotAllowed:
      return v1::VERIFY_ERROR_ALGORITHM_NOT_ALLOWED;
    case core::InvalidReason::kUnknownKey:
      return v1::VERIFY_ERROR_UNKNOWN_KEY;
    case core::InvalidReason::kBadSignature:
      return v1::VERIFY_ERROR_BAD_SIGNATURE;
    case core::InvalidReason::kWrongType:
      return v1::VERIFY_ERROR_WRONG_TYPE;
    case core::InvalidReason::kExpired:
      return v1::VERIFY_ERROR_EXPIRED;
    case core::InvalidReason::kNotYetValid:
      return v1::VERIFY_ERROR_NOT_YET_VALID;
    case core::InvalidReason::kWrongIssuer:
      return v1::VERIFY_ERROR_WRONG_ISSUER;
    case core::InvalidReason::kWrongAudience:
      return v1::VERIFY_ERROR_WRONG_AUDIENCE;
    case core::InvalidReason::kInsufficientScope:
      return v1::VERIFY_ERROR_INSUFFICIENT_SCOPE;
    case core::InvalidReason::kInvalidClaims:
      return v1::VERIFY_ERROR_INVALID_CLAIMS;
    case core::InvalidReason::kRevoked:
      return v1::VERIFY_ERROR_REVOKED;
  }
  return v1::VERIFY_ERROR_UNSPECIFIED;
}

absl::Status VerifyResponseFromDomain(const core::VerifyOutcome& outcome,
                                      v1::VerifyResponse* response) {
  if (!outcome.valid() || !outcome.token.has_value()) {
    response->set_valid(false);
    // A "valid" outcome without a token is a core bug; never answer valid=true without claims.
    response->set_error(outcome.valid() ? v1::VERIFY_ERROR_UNSPECIFIED
                                        : VerifyErrorToProto(outcome.reason));
    if (outcome.valid()) return absl::InternalError("valid verify outcome without a token");
    return absl::OkStatus();
  }
  const jwt::VerifiedJwt& token = *outcome.token;
  google::protobuf::Struct claims;
  if (!google::protobuf::util::JsonStringToMessage(token.payload_json(), &claims).ok()) {
    return absl::InternalError("verified payload is not representable as a Struct");
  }
  response->set_valid(true);
  response->set_subject(token.subject());
  for (const std::string& audience : token.audiences()) response->add_audience(audience);
  for (const std::string& scope : token.scopes()) response->add_scopes(scope);
  if (token.issued_at() != absl::InfinitePast()) {
    ToProtoTimestamp(token.issued_at(), response->mutable_issued_at());
  }
  ToProtoTimestamp(token.expires_at(), response->mutable_expires_at());
  response->set_token_id(token.jwt_id());
  response->set_client_id(token.client_id());
  *response->mutable_claims() = std::move(claims);
  return absl::OkStatus();
}

}  // namespace tokend::grpc
