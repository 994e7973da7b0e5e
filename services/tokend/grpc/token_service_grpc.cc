#include "services/tokend/grpc/token_service_grpc.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "google/protobuf/duration.pb.h"
#include "services/tokend/auth/call_audit.h"
#include "services/tokend/grpc/proto_mapping.h"
#include "util/status_macros.h"

namespace tokend::grpc {

namespace {

// What the policy checks of an Issue request; the ttl is filled in once the request parses.
auth::IssueFacts IssueFactsFromProto(const v1::IssueRequest& request) {
  auth::IssueFacts facts;
  facts.subject = request.subject();
  facts.audiences.assign(request.audience().begin(), request.audience().end());
  facts.scopes.assign(request.scopes().begin(), request.scopes().end());
  for (const auto& [name, value] : request.claims().fields()) facts.claim_names.push_back(name);
  std::sort(facts.claim_names.begin(), facts.claim_names.end());  // map order is unspecified
  facts.refresh_token = request.include_refresh_token();
  return facts;
}

storage::RevokeTarget RevokeTargetOf(const v1::RevokeRequest& request) {
  switch (request.target_case()) {
    case v1::RevokeRequest::kTokenId:
      return storage::RevokeTarget::kTokenId;
    case v1::RevokeRequest::kRefreshToken:
      return storage::RevokeTarget::kRefreshToken;
    case v1::RevokeRequest::kSubject:
      return storage::RevokeTarget::kSubject;
    default:
      return storage::RevokeTarget::kAccessToken;
  }
}

}  // namespace

TokenServiceGrpc::TokenServiceGrpc(core::TokenService& service, RpcMetrics& metrics,
                                   Options options)
    : service_(service),
      runner_(metrics, {.blocking_threads = options.blocking_threads,
                        .blocking_queue = options.blocking_queue,
                        .caller_identity = std::move(options.caller_identity),
                        .access_control = options.access_control}),
      key_admin_(runner_,
                 {.key_manager = options.key_manager, .rpcs_enabled = options.key_admin_rpcs}) {}

TokenServiceGrpc::~TokenServiceGrpc() { Shutdown(); }

void TokenServiceGrpc::Shutdown() { runner_.Shutdown(); }

::grpc::ServerUnaryReactor* TokenServiceGrpc::Issue(::grpc::CallbackServerContext* context,
                                                    const v1::IssueRequest* request,
                                                    v1::TokenResponse* response) {
  CallScope call = runner_.Begin(context, RpcMethod::kIssue);
  const auth::Admission admission = runner_.Admit(*context, RpcMethod::kIssue);
  auth::IssueFacts facts = IssueFactsFromProto(*request);
  absl::StatusOr<core::IssueParams> params = [&]() -> absl::StatusOr<core::IssueParams> {
    TOKEND_RETURN_IF_ERROR(admission.status());
    TOKEND_ASSIGN_OR_RETURN(core::IssueParams parsed, IssueParamsFromProto(*request));
    facts.ttl = parsed.ttl;
    TOKEND_ASSIGN_OR_RETURN(auth::IssueGrant grant, admission.permit().CheckIssue(facts));
    if (!parsed.ttl.has_value()) parsed.ttl = grant.ttl;
    parsed.client_id = admission.permit().client_id();
    return parsed;
  }();
  call.SetAudit([caller = admission.caller_id(), facts](const absl::Status& status) {
    return auth::IssueAuditEvent(caller, facts, status, "");
  });
  if (!params.ok()) return call.Finish(params.status());
  auto issue = [this, response, params = *std::move(params), caller = admission.caller_id(),
                facts = std::move(facts)](CallScope& call) -> absl::Status {
    TOKEND_ASSIGN_OR_RETURN(core::IssuedTokens tokens, service_.Issue(params));
    call.SetAudit([caller, facts, jti = tokens.token_id](const absl::Status& status) {
      return auth::IssueAuditEvent(caller, facts, status, jti);
    });
    TokenResponseFromDomain(tokens, response);
    return absl::OkStatus();
  };
  // Only a refresh token needs the database; a bare access token is signed inline.
  if (request->include_refresh_token())
    return runner_.RunBlocking(std::move(call), std::move(issue));
  return call.Finish(issue(call));
}

::grpc::ServerUnaryReactor* TokenServiceGrpc::Verify(::grpc::CallbackServerContext* context,
                                                     const v1::VerifyRequest* request,
                                                     v1::VerifyResponse* response) {
  CallScope call = runner_.Begin(context, RpcMethod::kVerify);
  return call.Finish([&]() -> absl::Status {
    TOKEND_RETURN_IF_ERROR(runner_.Admit(*context, RpcMethod::kVerify).status());
    TOKEND_ASSIGN_OR_RETURN(core::VerifyParams params, VerifyParamsFromProto(*request));
    TOKEND_ASSIGN_OR_RETURN(core::VerifyOutcome outcome, service_.Verify(params));
    return VerifyResponseFromDomain(outcome, response);
  }());
}

::grpc::ServerUnaryReactor* TokenServiceGrpc::Refresh(::grpc::CallbackServerContext* context,
                                                      const v1::RefreshRequest* request,
                                                      v1::TokenResponse* response) {
  CallScope call = runner_.Begin(context, RpcMethod::kRefresh);
  const auth::Admission admission = runner_.Admit(*context, RpcMethod::kRefresh);
  absl::StatusOr<core::RefreshParams> params = [&]() -> absl::StatusOr<core::RefreshParams> {
    TOKEND_RETURN_IF_ERROR(admission.status());
    TOKEND_ASSIGN_OR_RETURN(core::RefreshParams parsed, RefreshParamsFromProto(*request));
    // Binds the refresh to the caller: core refuses, without spending it, a refresh token that
    // was issued to another identity.
    parsed.client_id = admission.permit().client_id();
    return parsed;
  }();
  call.SetAudit([caller = admission.caller_id()](const absl::Status& status) {
    return auth::RefreshAuditEvent(caller, status, "", {}, {}, "");
  });
  if (!params.ok()) return call.Finish(params.status());
  return runner_.RunBlocking(
      std::move(call),
      [this, response, params = *std::move(params),
       caller = admission.caller_id()](CallScope& call) -> absl::Status {
        TOKEND_ASSIGN_OR_RETURN(core::IssuedTokens tokens, service_.Refresh(params));
        call.SetAudit([caller, subject = tokens.subject, audiences = tokens.audiences,
                       scopes = tokens.scopes, jti = tokens.token_id](const absl::Status& status) {
          return auth::RefreshAuditEvent(caller, status, subject, audiences, scopes, jti);
        });
        TokenResponseFromDomain(tokens, response);
        return absl::OkStatus();
      });
}

::grpc::ServerUnaryReactor* TokenServiceGrpc::Revoke(::grpc::CallbackServerContext* context,
                                                     const v1::RevokeRequest* request,
                                                     v1::RevokeResponse* /*response*/) {
  CallScope call = runner_.Begin(context, RpcMethod::kRevoke);
  const auth::Admission admission = runner_.Admit(*context, RpcMethod::kRevoke);
  const storage::RevokeTarget target = RevokeTargetOf(*request);
  absl::StatusOr<core::RevokeParams> params = [&]() -> absl::StatusOr<core::RevokeParams> {
    TOKEND_RETURN_IF_ERROR(admission.status());
    TOKEND_ASSIGN_OR_RETURN(core::RevokeParams parsed, RevokeParamsFromProto(*request));
    // The policy decides whose tokens the caller may revoke; core checks the token's owner.
    TOKEND_ASSIGN_OR_RETURN(parsed.client_id, admission.permit().CheckRevoke(target));
    return parsed;
  }();
  // Token and refresh token text is never audited; a jti or a subject is public.
  std::string public_value;
  if (target == storage::RevokeTarget::kTokenId) public_value = request->token_id();
  if (target == storage::RevokeTarget::kSubject) public_value = request->subject();
  call.SetAudit([caller = admission.caller_id(), target, public_value = std::move(public_value),
                 client_reason = request->reason()](const absl::Status& status) {
    return auth::RevokeAuditEvent(caller, target, public_value, client_reason, status);
  });
  if (!params.ok()) return call.Finish(params.status());
  return runner_.RunBlocking(
      std::move(call),
      [this, params = *std::move(params)](CallScope& /*call*/) { return service_.Revoke(params); });
}

::grpc::ServerUnaryReactor* TokenServiceGrpc::GetJwks(::grpc::CallbackServerContext* context,
                                                      const v1::GetJwksRequest* /*request*/,
                                                      v1::GetJwksResponse* response) {
  CallScope call = runner_.Begin(context, RpcMethod::kGetJwks);
  if (absl::Status admitted = runner_.Admit(*context, RpcMethod::kGetJwks).status();
      !admitted.ok()) {
    return call.Finish(admitted);
  }
  response->set_jwks_json(service_.JwksJson());
  ToProtoDuration(service_.jwks_max_age(), response->mutable_max_age());
  return call.Finish(absl::OkStatus());
}

::grpc::ServerUnaryReactor* TokenServiceGrpc::RotateSigningKey(
    ::grpc::CallbackServerContext* context, const v1::RotateSigningKeyRequest* request,
    v1::RotateSigningKeyResponse* response) {
  return key_admin_.RotateSigningKey(context, request, response);
}

::grpc::ServerUnaryReactor* TokenServiceGrpc::ListSigningKeys(
    ::grpc::CallbackServerContext* context, const v1::ListSigningKeysRequest* request,
    v1::ListSigningKeysResponse* response) {
  return key_admin_.ListSigningKeys(context, request, response);
}

::grpc::ServerUnaryReactor* TokenServiceGrpc::RemoveSigningKey(
    ::grpc::CallbackServerContext* context, const v1::RemoveSigningKeyRequest* request,
    v1::RemoveSigningKeyResponse* response) {
  return key_admin_.RemoveSigningKey(context, request, response);
}

}  // namespace tokend::grpc
