#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "services/tokend/core/token_types.h"
#include "tokend/v1/token_service.pb.h"

namespace tokend::grpc {

// Proto <-> domain mapping for the TokenService adapter. The *FromProto functions check the
// request's shape only (required fields present, well-formed Duration and Struct) and answer
// INVALID_ARGUMENT naming the field; what the values mean (TTL caps, registered claim names,
// scope subsets) is core's business. They never echo a token in an error. Stateless and
// thread-safe.

// client_id is left empty: it is set by the adapter from the caller's identity.
absl::StatusOr<core::IssueParams> IssueParamsFromProto(const v1::IssueRequest& request);
absl::StatusOr<core::VerifyParams> VerifyParamsFromProto(const v1::VerifyRequest& request);
absl::StatusOr<core::RefreshParams> RefreshParamsFromProto(const v1::RefreshRequest& request);
absl::StatusOr<core::RevokeParams> RevokeParamsFromProto(const v1::RevokeRequest& request);

void TokenResponseFromDomain(const core::IssuedTokens& tokens, v1::TokenResponse* response);
// INTERNAL only if a verified payload cannot be expressed as a Struct (it always should be).
absl::Status VerifyResponseFromDomain(const core::VerifyOutcome& outcome,
                                      v1::VerifyResponse* response);

v1::VerifyError VerifyErrorToProto(core::InvalidReason reason);

// Timestamps outside the proto range (years 1..9999) are clamped to it.
void ToProtoTimestamp(absl::Time time, google::protobuf::Timestamp* out);
absl::Time FromProtoTimestamp(const google::protobuf::Timestamp& timestamp);
void ToProtoDuration(absl::Duration duration, google::protobuf::Duration* out);
// INVALID_ARGUMENT for a Duration that breaks the proto's own rules (range, sign of nanos).
absl::StatusOr<absl::Duration> FromProtoDuration(const google::protobuf::Duration& duration);

}  // namespace tokend::grpc
