#include "services/tokend/grpc/call_scope.h"

#include <utility>

#include "services/tokend/grpc/status_conversion.h"

namespace tokend::grpc {

CallScope::CallScope(::grpc::CallbackServerContext* context, RpcMethod method, RpcMetrics& metrics,
                     const auth::GrpcAccessControl* audit_trail)
    : context_(context),
      reactor_(context->DefaultReactor()),
      method_(method),
      metrics_(&metrics),
      audit_trail_(audit_trail),
      start_(Stopwatch::now()) {
  metrics_->RpcStarted(method_);
}

CallScope::CallScope(CallScope&& other) noexcept
    : context_(other.context_),
      reactor_(other.reactor_),
      method_(other.method_),
      metrics_(other.metrics_),
      audit_trail_(other.audit_trail_),
      start_(other.start_),
      audit_(std::move(other.audit_)),
      open_(std::exchange(other.open_, false)) {}

CallScope::~CallScope() {
  // A path that returned without answering: end the call rather than leave the client waiting.
  if (open_) Finish(absl::InternalError("the call ended without an answer"));
}

::grpc::ServerUnaryReactor* CallScope::Finish(const absl::Status& status) {
  if (!open_) return reactor_;
  open_ = false;
  ::grpc::Status answer = ToGrpcStatus(status, RpcMethodName(method_));
  metrics_->ObserveRpc(method_, status.code(), absl::FromChrono(Stopwatch::now() - start_));
  if (audit_ && audit_trail_ != nullptr) audit_trail_->Audit(audit_(status));
  reactor_->Finish(std::move(answer));
  return reactor_;
}

}  // namespace tokend::grpc
