#include "services/tokend/grpc/token_service_grpc.h"

#include <utility>

#include "google/protobuf/duration.pb.h"
#include "services/tokend/grpc/proto_mapping.h"
#include "services/tokend/grpc/status_conversion.h"
#include "util/status_macros.h"

namespace tokend::grpc {

using metrics::RpcMethod;

TokenServiceGrpc::TokenServiceGrpc(core::TokenService& service, metrics::Metrics& metrics,
                                   Options options)
    : service_(service),
      metrics_(metrics),
      caller_identity_(std::move(options.caller_identity)),
      executor_(options.blocking_threads, options.blocking_queue) {}

TokenServiceGrpc::~TokenServiceGrpc() { Shutdown(); }

void TokenServiceGrpc::Shutdown() { executor_.Shutdown(); }

absl::StatusOr<std::string> TokenServiceGrpc::CallerClientId(
    const ::grpc::CallbackServerContext& context) const {
  if (!caller_identity_) return std::string();
  return caller_identity_(context);
}

TokenServiceGrpc::Stopwatch::time_point TokenServiceGrpc::Start(RpcMethod method) {
  metrics_.RpcStarted(method);
  return Stopwatch::now();
}

void TokenServiceGrpc::Complete(::grpc::ServerUnaryReactor* reactor, RpcMethod method,
                                Stopwatch::time_point start, const absl::Status& status) {
  ::grpc::Status grpc_status = ToGrpcStatus(status, metrics::RpcMethodName(method));
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
  absl::StatusOr<core::IssueParams> params = IssueParamsFromProto(*request);
  if (params.ok()) {
    absl::StatusOr<std::string> client_id = CallerClientId(*context);
    if (!client_id.ok()) return FinishNow(context, RpcMethod::kIssue, start, client_id.status());
    params->client_id = *std::move(client_id);
  }
  if (!params.ok()) return FinishNow(context, RpcMethod::kIssue, start, params.status());
  auto issue = [this, response, params = *std::move(params)]() -> absl::Status {
    TOKEND_ASSIGN_OR_RETURN(core::IssuedTokens tokens, service_.Issue(params));
    TokenResponseFromDomain(tokens, response);
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
  absl::StatusOr<core::RefreshParams> params = RefreshParamsFromProto(*request);
  if (params.ok()) {
    absl::StatusOr<std::string> client_id = CallerClientId(*context);
    if (!client_id.ok()) return FinishNow(context, RpcMethod::kRefresh, start, client_id.status());
    params->client_id = *std::move(client_id);
  }
  if (!params.ok()) return FinishNow(context, RpcMethod::kRefresh, start, params.status());
  return RunBlocking(context, RpcMethod::kRefresh, start,
                     [this, response, params = *std::move(params)]() -> absl::Status {
                       TOKEND_ASSIGN_OR_RETURN(core::IssuedTokens tokens, service_.Refresh(params));
                       TokenResponseFromDomain(tokens, response);
                       return absl::OkStatus();
                     });
}

::grpc::ServerUnaryReactor* TokenServiceGrpc::Revoke(::grpc::CallbackServerContext* context,
                                                     const v1::RevokeRequest* request,
                                                     v1::RevokeResponse* /*response*/) {
  auto start = Start(RpcMethod::kRevoke);
  absl::StatusOr<core::RevokeParams> params = RevokeParamsFromProto(*request);
  if (params.ok()) {
    absl::StatusOr<std::string> client_id = CallerClientId(*context);
    if (!client_id.ok()) return FinishNow(context, RpcMethod::kRevoke, start, client_id.status());
    params->client_id = *std::move(client_id);
  }
  if (!params.ok()) return FinishNow(context, RpcMethod::kRevoke, start, params.status());
  return RunBlocking(context, RpcMethod::kRevoke, start,
                     [this, params = *std::move(params)]() { return service_.Revoke(params); });
}

::grpc::ServerUnaryReactor* TokenServiceGrpc::GetJwks(::grpc::CallbackServerContext* context,
                                                      const v1::GetJwksRequest* /*request*/,
                                                      v1::GetJwksResponse* response) {
  auto start = Start(RpcMethod::kGetJwks);
  response->set_jwks_json(service_.JwksJson());
  ToProtoDuration(service_.jwks_max_age(), response->mutable_max_age());
  return FinishNow(context, RpcMethod::kGetJwks, start, absl::OkStatus());
}

}  // namespace tokend::grpc
