#include "services/tokend/grpc/token_service_grpc.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "google/protobuf/duration.pb.h"
#include "services/tokend/auth/call_audit.h"
#include "services/tokend/grpc/proto_mapping.h"
#include "services/tokend/grpc/status_conversion.h"
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
      metrics_(metrics),
      caller_identity_(std::move(options.caller_identity)),
      access_control_(options.access_control),
      key_manager_(options.key_manager),
      key_admin_rpcs_(options.key_admin_rpcs),
      executor_(options.blocking_threads, options.blocking_queue) {}

TokenServiceGrpc::~TokenServiceGrpc() { Shutdown(); }

void TokenServiceGrpc::Shutdown() { executor_.Shutdown(); }

absl::StatusOr<std::string> TokenServiceGrpc::CallerClientId(
    const ::grpc::CallbackServerContext& context) const {
  if (!caller_identity_) return std::string();
  return caller_identity_(context);
}

auth::Admission TokenServiceGrpc::Admit(const ::grpc::CallbackServerContext& context,
                                        RpcMethod method) const {
  if (access_control_ != nullptr) {
    std::string full_method = "/";
    full_method.append(v1::TokenService::service_full_name());
    full_method.append("/");
    full_method.append(RpcMethodName(method));
    return access_control_->Admit(context, full_method);
  }
  absl::StatusOr<std::string> client_id = CallerClientId(context);
  if (!client_id.ok()) return auth::Admission::Refused(client_id.status(), std::string());
  return auth::Admission::Admitted(auth::CallPermit::Unrestricted(*std::move(client_id)));
}

void TokenServiceGrpc::Audit(const auth::AuditEvent& event) const {
  if (access_control_ != nullptr) access_control_->Audit(event);
}

TokenServiceGrpc::Stopwatch::time_point TokenServiceGrpc::Start(RpcMethod method) {
  metrics_.RpcStarted(method);
  return Stopwatch::now();
}

void TokenServiceGrpc::Complete(::grpc::ServerUnaryReactor* reactor, RpcMethod method,
                                Stopwatch::time_point start, const absl::Status& status) {
  ::grpc::Status grpc_status = ToGrpcStatus(status, RpcMethodName(method));
  double seconds = std::chrono::duration<double>(Stopwatch::now() - start).count();
  metrics_.ObserveRpc(method, static_cast<int>(status.code()), seconds);
  reactor->Finish(grpc_status);
}

::grpc::ServerUnaryReactor* TokenServiceGrpc::FinishNow(::grpc::CallbackServerContext* context,
                                                        RpcMethod method,
                                                        Stopwatch::time_point start,
                                                        const absl::Status& status) {
  ::grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  Complete(reactor, method, start, status);
  return reactor;
}

::grpc::ServerUnaryReactor* TokenServiceGrpc::RunBlocking(::grpc::CallbackServerContext* context,
                                                          RpcMethod method,
                                                          Stopwatch::time_point start,
                                                          std::function<absl::Status()> work) {
  ::grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // The context, request and response stay valid until Finish: the task may use them.
  bool accepted =
      executor_.TrySubmit([this, reactor, context, method, start, work = std::move(work)] {
        // A call whose client gave up (or whose deadline passed) while queued is not worth a
        // database round trip.
        absl::Status status =
            context->IsCancelled()
                ? absl::CancelledError("call cancelled while waiting for a worker")
                : work();
        Complete(reactor, method, start, status);
      });
  if (!accepted) {
    Complete(reactor, method, start,
             absl::ResourceExhaustedError("too many calls waiting for the database; retry later"));
  }
  return reactor;
}

::grpc::ServerUnaryReactor* TokenServiceGrpc::Issue(::grpc::CallbackServerContext* context,
                                                    const v1::IssueRequest* request,
                                                    v1::TokenResponse* response) {
  auto start = Start(RpcMethod::kIssue);
  const auth::Admission admission = Admit(*context, RpcMethod::kIssue);
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
  if (!params.ok()) {
    Audit(auth::IssueAuditEvent(admission.caller_id(), facts, params.status(), ""));
    return FinishNow(context, RpcMethod::kIssue, start, params.status());
  }
  auto issue = [this, response, params = *std::move(params), caller = admission.caller_id(),
                facts = std::move(facts)]() -> absl::Status {
    absl::StatusOr<core::IssuedTokens> tokens = service_.Issue(params);
    Audit(auth::IssueAuditEvent(caller, facts, tokens.status(),
                                tokens.ok() ? tokens->token_id : std::string()));
    TOKEND_RETURN_IF_ERROR(tokens.status());
    TokenResponseFromDomain(*tokens, response);
    return absl::OkStatus();
  };
  // Only a refresh token needs the database; a bare access token is signed inline.
  if (request->include_refresh_token()) {
    return RunBlocking(context, RpcMethod::kIssue, start, std::move(issue));
  }
  return FinishNow(context, RpcMethod::kIssue, start, issue());
}

::grpc::ServerUnaryReactor* TokenServiceGrpc::Verify(::grpc::CallbackServerContext* context,
                                                     const v1::VerifyRequest* request,
                                                     v1::VerifyResponse* response) {
  auto start = Start(RpcMethod::kVerify);
  absl::Status status = [&]() -> absl::Status {
    TOKEND_RETURN_IF_ERROR(Admit(*context, RpcMethod::kVerify).status());
    TOKEND_ASSIGN_OR_RETURN(core::VerifyParams params, VerifyParamsFromProto(*request));
    TOKEND_ASSIGN_OR_RETURN(core::VerifyOutcome outcome, service_.Verify(params));
    return VerifyResponseFromDomain(outcome, response);
  }();
  return FinishNow(context, RpcMethod::kVerify, start, status);
}

::grpc::ServerUnaryReactor* TokenServiceGrpc::Refresh(::grpc::CallbackServerContext* context,
                                                      const v1::RefreshRequest* request,
                                                      v1::TokenResponse* response) {
  auto start = Start(RpcMethod::kRefresh);
  const auth::Admission admission = Admit(*context, RpcMethod::kRefresh);
  absl::StatusOr<core::RefreshParams> params = [&]() -> absl::StatusOr<core::RefreshParams> {
    TOKEND_RETURN_IF_ERROR(admission.status());
    TOKEND_ASSIGN_OR_RETURN(core::RefreshParams parsed, RefreshParamsFromProto(*request));
    // Binds the refresh to the caller: core refuses, without spending it, a refresh token that
    // was issued to another identity.
    parsed.client_id = admission.permit().client_id();
    return parsed;
  }();
  if (!params.ok()) {
    Audit(auth::RefreshAuditEvent(admission.caller_id(), params.status(), "", {}, {}, ""));
    return FinishNow(context, RpcMethod::kRefresh, start, params.status());
  }
  return RunBlocking(
      context, RpcMethod::kRefresh, start,
      [this, response, params = *std::move(params),
       caller = admission.caller_id()]() -> absl::Status {
        absl::StatusOr<core::IssuedTokens> tokens = service_.Refresh(params);
        if (!tokens.ok()) {
          Audit(auth::RefreshAuditEvent(caller, tokens.status(), "", {}, {}, ""));
          return tokens.status();
        }
        Audit(auth::RefreshAuditEvent(caller, absl::OkStatus(), tokens->subject, tokens->audiences,
                                      tokens->scopes, tokens->token_id));
        TokenResponseFromDomain(*tokens, response);
        return absl::OkStatus();
      });
}

::grpc::ServerUnaryReactor* TokenServiceGrpc::Revoke(::grpc::CallbackServerContext* context,
                                                     const v1::RevokeRequest* request,
                                                     v1::RevokeResponse* /*response*/) {
  auto start = Start(RpcMethod::kRevoke);
  const auth::Admission admission = Admit(*context, RpcMethod::kRevoke);
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
  if (!params.ok()) {
    Audit(auth::RevokeAuditEvent(admission.caller_id(), target, public_value, request->reason(),
                                 params.status()));
    return FinishNow(context, RpcMethod::kRevoke, start, params.status());
  }
  return RunBlocking(
      context, RpcMethod::kRevoke, start,
      [this, params = *std::move(params), caller = admission.caller_id(), target,
       public_value = std::move(public_value)]() {
        absl::Status status = service_.Revoke(params);
        Audit(auth::RevokeAuditEvent(caller, target, public_value, params.reason, status));
        return status;
      });
}

::grpc::ServerUnaryReactor* TokenServiceGrpc::GetJwks(::grpc::CallbackServerContext* context,
                                                      const v1::GetJwksRequest* /*request*/,
                                                      v1::GetJwksResponse* response) {
  auto start = Start(RpcMethod::kGetJwks);
  if (absl::Status admitted = Admit(*context, RpcMethod::kGetJwks).status(); !admitted.ok()) {
    return FinishNow(context, RpcMethod::kGetJwks, start, admitted);
  }
  response->set_jwks_json(service_.JwksJson());
  ToProtoDuration(service_.jwks_max_age(), response->mutable_max_age());
  return FinishNow(context, RpcMethod::kGetJwks, start, absl::OkStatus());
}

}  // namespace tokend::grpc
