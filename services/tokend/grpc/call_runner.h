#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/server_callback.h"
#include "services/tokend/auth/authorizer.h"
#include "services/tokend/auth/grpc_access.h"
#include "services/tokend/grpc/bounded_executor.h"
#include "services/tokend/grpc/call_scope.h"
#include "services/tokend/grpc/rpc_metrics.h"

namespace tokend::grpc {

// What the adapter's service classes (TokenServiceGrpc, KeyAdminGrpc) share for their calls:
// the RPC metrics and the audit trail (through the CallScope each call gets from Begin), who the
// caller is and whether it may make the call (Admit), and the BoundedExecutor of the calls that
// block on the database. Holds no token or key semantics. Thread-safe. Shutdown() (also run by
// the destructor) must come after the gRPC server's Shutdown and before whatever the queued
// tasks use is destroyed.
class CallRunner {
 public:
  // Names the caller of an RPC (the client_id recorded with its tokens), or refuses it with
  // UNAUTHENTICATED / PERMISSION_DENIED. Unset, every caller is anonymous (client_id "").
  using CallerIdentity =
      std::function<absl::StatusOr<std::string>(const ::grpc::CallbackServerContext&)>;

  struct Options {
    int blocking_threads = 8;     // like the database connection pool
    size_t blocking_queue = 256;  // calls waiting for a thread before RESOURCE_EXHAUSTED
    CallerIdentity caller_identity;
    // When set, every call is admitted by it (deny by default) and `caller_identity` is unused;
    // it is also the audit trail. Unset: `caller_identity` names the caller, everything is
    // allowed and nothing is audited (unit tests of the adapter alone).
    const auth::GrpcAccessControl* access_control = nullptr;
  };

  // `metrics` must outlive the runner.
  CallRunner(RpcMetrics& metrics, Options options);
  ~CallRunner();
  CallRunner(const CallRunner&) = delete;
  CallRunner& operator=(const CallRunner&) = delete;

  // Starts a call of `method`: counted, timed, audited when it ends.
  CallScope Begin(::grpc::CallbackServerContext* context, RpcMethod method);

  // Identifies the caller and admits it to `method` (access control, else caller_identity).
  auth::Admission Admit(const ::grpc::CallbackServerContext& context, RpcMethod method) const;

  // Runs `work` on the executor and ends the call there with the status it returns, and returns
  // the call's reactor. The call's context, request and response stay valid until it ends, so
  // `work` may use them. A call whose client gave up (or whose deadline passed) while it waited
  // ends CANCELLED without running `work`; when the executor is full it ends at once with
  // RESOURCE_EXHAUSTED rather than queue without bound.
  ::grpc::ServerUnaryReactor* RunBlocking(CallScope call,
                                          std::function<absl::Status(CallScope& call)> work);

  // Runs the blocking calls already accepted to completion and joins the workers.
  void Shutdown();

 private:
  RpcMetrics& metrics_;
  CallerIdentity caller_identity_;
  const auth::GrpcAccessControl* access_control_;  // may be null
  BoundedExecutor executor_;
};

}  // namespace tokend::grpc
