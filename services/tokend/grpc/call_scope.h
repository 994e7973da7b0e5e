#pragma once

#include <chrono>
#include <functional>
#include <utility>

#include "absl/status/status.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/server_callback.h"
#include "services/tokend/auth/audit_log.h"
#include "services/tokend/auth/grpc_access.h"
#include "services/tokend/grpc/rpc_metrics.h"

namespace tokend::grpc {

// One unary RPC, from its start to its answer. Created when the handler starts (which counts
// the call in grpc_server_started_total and starts its clock), it ends exactly once: by
// Finish(status), or, should a path forget to answer, by its destructor with INTERNAL, so no
// call is left hanging. Ending converts the status (ToGrpcStatus, which logs a failure once),
// records grpc_server_handled_total{grpc_code} and grpc_server_handling_seconds, writes the
// call's audit line (when SetAudit described one and there is an audit trail) with the status
// the call really ends with, and only then finishes the reactor, so a client never sees an
// answer before its metrics and its audit line exist. Whatever path a handler takes (refused,
// bad request, executor full, cancelled while queued, core's answer), this is the only place
// that does these four things.
// Move-only; a moved-from scope ends nothing. Not thread-safe: one thread at a time owns a call
// (the handler, then the executor task it is handed to).
class CallScope {
 public:
  // Builds the call's audit event from the status the call ends with.
  using AuditBuilder = std::function<auth::AuditEvent(const absl::Status& status)>;

  // `metrics` and `audit_trail` (null: no audit trail) must outlive the call.
  CallScope(::grpc::CallbackServerContext* context, RpcMethod method, RpcMetrics& metrics,
            const auth::GrpcAccessControl* audit_trail);
  CallScope(CallScope&& other) noexcept;
  CallScope& operator=(CallScope&&) = delete;
  CallScope(const CallScope&) = delete;
  CallScope& operator=(const CallScope&) = delete;
  ~CallScope();

  ::grpc::CallbackServerContext& context() const { return *context_; }
  RpcMethod method() const { return method_; }
  // The call's reactor: what the handler returns, whether the call has ended yet or not.
  ::grpc::ServerUnaryReactor* reactor() const { return reactor_; }

  // Describes this call's audit line; replaces an earlier description. A call without one
  // (Verify, GetJwks, ListSigningKeys) writes none.
  void SetAudit(AuditBuilder audit) { audit_ = std::move(audit); }

  // Ends the call with `status` (see above) and returns its reactor, for the handler to return.
  // Only the first end counts.
  ::grpc::ServerUnaryReactor* Finish(const absl::Status& status);

 private:
  using Stopwatch = std::chrono::steady_clock;

  ::grpc::CallbackServerContext* context_;
  ::grpc::ServerUnaryReactor* reactor_;
  RpcMethod method_;
  RpcMetrics* metrics_;
  const auth::GrpcAccessControl* audit_trail_;
  Stopwatch::time_point start_;
  AuditBuilder audit_;
  bool open_ = true;  // false once ended, or moved from
};

}  // namespace tokend::grpc
