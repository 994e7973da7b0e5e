#pragma once

#include <string>

#include "absl/status/status.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/server_callback.h"
#include "services/tokend/grpc/call_runner.h"
#include "services/tokend/grpc/rpc_metrics.h"
#include "tokend/v1/token_service.pb.h"

namespace tokend::keys {
class KeyManager;
}

namespace tokend::grpc {

// The gRPC edge of signing-key administration (RotateSigningKey, ListSigningKeys,
// RemoveSigningKey): the adapter pattern of the token RPCs (check the request's shape, call
// keys::KeyManager, map back) over the same CallRunner, so the calls are admitted, counted,
// audited and run on the executor (they block on the key store) like the others. Who may call
// them is decided before anything else: the caller policy (or the caller-identity hook), then
// --key_admin_rpcs, then whether this server manages its keys at all.
// Not a registered gRPC service of its own: these RPCs are methods of tokend.v1.TokenService,
// which clients call by that name, and a server registers one implementation per service, so
// TokenServiceGrpc registers and forwards them here. Thread-safe.
class KeyAdminGrpc {
 public:
  struct Options {
    keys::KeyManager* key_manager = nullptr;  // null: static keys, FAILED_PRECONDITION
    // --key_admin_rpcs. Why off by default: RemoveSigningKey can take every token out of
    // service; on a server without caller policies anyone who reaches the port could call it.
    bool rpcs_enabled = false;
  };

  // `runner` and the key manager must outlive this object.
  KeyAdminGrpc(CallRunner& runner, Options options);
  KeyAdminGrpc(const KeyAdminGrpc&) = delete;
  KeyAdminGrpc& operator=(const KeyAdminGrpc&) = delete;

  ::grpc::ServerUnaryReactor* RotateSigningKey(::grpc::CallbackServerContext* context,
                                               const v1::RotateSigningKeyRequest* request,
                                               v1::RotateSigningKeyResponse* response);
  ::grpc::ServerUnaryReactor* ListSigningKeys(::grpc::CallbackServerContext* context,
                                              const v1::ListSigningKeysRequest* request,
                                              v1::ListSigningKeysResponse* response);
  ::grpc::ServerUnaryReactor* RemoveSigningKey(::grpc::CallbackServerContext* context,
                                               const v1::RemoveSigningKeyRequest* request,
                                               v1::RemoveSigningKeyResponse* response);

 private:
  // OK when the caller may administer signing keys (admitted, admin RPCs enabled, managed
  // keys). `caller` receives the caller's identity, for the audit trail.
  absl::Status CheckAccess(const ::grpc::CallbackServerContext& context, RpcMethod method,
                           std::string* caller) const;

  CallRunner& runner_;
  keys::KeyManager* const key_manager_;  // may be null
  const bool rpcs_enabled_;
};

}  // namespace tokend::grpc
