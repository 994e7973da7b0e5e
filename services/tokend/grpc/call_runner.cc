#include "services/tokend/grpc/call_runner.h"

#include <memory>
#include <utility>

#include "tokend/v1/token_service.grpc.pb.h"

namespace tokend::grpc {

CallRunner::CallRunner(RpcMetrics& metrics, Options options)
    : metrics_(metrics),
      caller_identity_(std::move(options.caller_identity)),
      access_control_(options.access_control),
      executor_(options.blocking_threads, options.blocking_queue) {}

CallRunner::~CallRunner() { Shutdown(); }

void CallRunner::Shutdown() { executor_.Shutdown(); }

CallScope CallRunner::Begin(::grpc::CallbackServerContext* context, RpcMethod method) {
  return {context, method, metrics_, access_control_};
}

auth::Admission CallRunner::Admit(const ::grpc::CallbackServerContext& context,
                                  RpcMethod method) const {
  if (access_control_ != nullptr) {
    std::string full_method = "/";
    full_method.append(v1::TokenService::service_full_name());
    full_method.append("/");
    full_method.append(RpcMethodName(method));
    return access_control_->Admit(context, full_method);
  }
  if (!caller_identity_) {
    return auth::Admission::Admitted(auth::CallPermit::Unrestricted(std::string()));
  }
  absl::StatusOr<std::string> client_id = caller_identity_(context);
  if (!client_id.ok()) return auth::Admission::Refused(client_id.status(), std::string());
  return auth::Admission::Admitted(auth::CallPermit::Unrestricted(*std::move(client_id)));
}

::grpc::ServerUnaryReactor* CallRunner::RunBlocking(
    CallScope call, std::function<absl::Status(CallScope& call)> work) {
  ::grpc::ServerUnaryReactor* reactor = call.reactor();
  // Shared because a std::function task must be copyable; the handler keeps its reference to
  // end the call itself when the executor refuses the task.
  auto shared = std::make_shared<CallScope>(std::move(call));
  const bool accepted = executor_.TrySubmit([shared, work = std::move(work)] {
    // A call whose client gave up while queued is not worth a database round trip.
    if (shared->context().IsCancelled()) {
      shared->Finish(absl::CancelledError("call cancelled while waiting for a worker"));
      return;
    }
    shared->Finish(work(*shared));
  });
  if (!accepted) {
    shared->Finish(
        absl::ResourceExhaustedError("too many calls waiting for the database; retry later"));
  }
  return reactor;
}

}  // namespace tokend::grpc
