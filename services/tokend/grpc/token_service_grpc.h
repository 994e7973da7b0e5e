#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "services/tokend/auth/grpc_access.h"
#include "services/tokend/core/token_service.h"
#include "services/tokend/grpc/call_runner.h"
#include "services/tokend/grpc/key_admin_grpc.h"
#include "services/tokend/grpc/rpc_metrics.h"
#include "tokend/v1/token_service.grpc.pb.h"

namespace tokend::grpc {

// The gRPC edge of core::TokenService (callback API). For each call it checks the request's
// shape, maps proto to domain, calls core, maps back and converts the status in ToGrpcStatus;
// it holds no token semantics. Verify, GetJwks and Issue without a refresh token are CPU-only
// and run inline on the gRPC callback thread. Calls that may block on PostgreSQL (Issue with a
// refresh token, Refresh, Revoke) run on a BoundedExecutor sized like the connection pool, and
// are Finish'ed from there; when its queue is full they answer RESOURCE_EXHAUSTED at once
// instead of queueing without bound. Every call is a CallScope: counted in
// grpc_server_started_total, grpc_server_handled_total{grpc_code} and
// grpc_server_handling_seconds, and audited (Issue, Refresh, Revoke, key rotation and removal) on
// whichever path it ends. The signing-key RPCs of the same proto service are KeyAdminGrpc's:
// this class registers the service and forwards them.
// Thread-safe. Shutdown order: Server::Shutdown() first (it waits for the reactors), then
// this object's Shutdown() or destructor.
class TokenServiceGrpc final : public v1::TokenService::CallbackService {
 public:
  // Names the caller of an RPC (the client_id recorded with its tokens), or refuses it with
  // UNAUTHENTICATED / PERMISSION_DENIED. Unset, every caller is anonymous (client_id "").
  using CallerIdentity = CallRunner::CallerIdentity;

  struct Options {
    int blocking_threads = 8;     // like the database connection pool
    size_t blocking_queue = 256;  // calls waiting for a thread before RESOURCE_EXHAUSTED
    CallerIdentity caller_identity;
    // Caller authentication, authorization and the audit trail (services/tokend/auth). When
    // set, every RPC is admitted by it first (deny by default; the client_id of issued tokens is
    // the caller's identity) and `caller_identity` is unused. Unset: `caller_identity` names
    // the caller and everything is allowed (unit tests of the adapter alone).
    const auth::GrpcAccessControl* access_control = nullptr;
    // Signing-key administration (RotateSigningKey, ListSigningKeys, RemoveSigningKey): served
    // only with a key manager and key_admin_rpcs (--key_admin_rpcs); PERMISSION_DENIED otherwise.
    keys::KeyManager* key_manager = nullptr;
    bool key_admin_rpcs = false;
  };

  // `service` and `metrics` must outlive this object.
  TokenServiceGrpc(core::TokenService& service, RpcMetrics& metrics, Options options);
  ~TokenServiceGrpc() override;

  // Runs the blocking calls already accepted to completion and joins the workers.
  void Shutdown();

  ::grpc::ServerUnaryReactor* Issue(::grpc::CallbackServerContext* context,
                                    const v1::IssueRequest* request,
                                    v1::TokenResponse* response) override;
  ::grpc::ServerUnaryReactor* Verify(::grpc::CallbackServerContext* context,
                                     const v1::VerifyRequest* request,
                                     v1::VerifyResponse* response) override;
  ::grpc::ServerUnaryReactor* Refresh(::grpc::CallbackServerContext* context,
                                      const v1::RefreshRequest* request,
                                      v1::TokenResponse* response) override;
  ::grpc::ServerUnaryReactor* Revoke(::grpc::CallbackServerContext* context,
                                     const v1::RevokeRequest* request,
                                     v1::RevokeResponse* response) override;
  ::grpc::ServerUnaryReactor* GetJwks(::grpc::CallbackServerContext* context,
                                      const v1::GetJwksRequest* request,
                                      v1::GetJwksResponse* response) override;
  // Signing-key administration: forwarded to KeyAdminGrpc.
  ::grpc::ServerUnaryReactor* RotateSigningKey(::grpc::CallbackServerContext* context,
                                               const v1::RotateSigningKeyRequest* request,
                                               v1::RotateSigningKeyResponse* response) override;
  ::grpc::ServerUnaryReactor* ListSigningKeys(::grpc::CallbackServerContext* context,
                                              const v1::ListSigningKeysRequest* request,
                                              v1::ListSigningKeysResponse* response) override;
  ::grpc::ServerUnaryReactor* RemoveSigningKey(::grpc::CallbackServerContext* context,
                                               const v1::RemoveSigningKeyRequest* request,
                                               v1::RemoveSigningKeyResponse* response) override;

 private:
  core::TokenService& service_;
  CallRunner runner_;
  KeyAdminGrpc key_admin_;  // uses runner_
};

}  // namespace tokend::grpc
