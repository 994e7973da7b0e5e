#include "services/tokend/grpc/key_admin_grpc.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "services/tokend/auth/call_audit.h"
#include "services/tokend/grpc/proto_mapping.h"
#include "services/tokend/keys/key_manager.h"
#include "util/status_macros.h"

namespace tokend::grpc {
namespace {

constexpr size_t kMaxKidBytes = 256;
constexpr size_t kMaxReasonBytes = 512;

v1::SigningKeyState StateToProto(storage::KeyState state) {
  switch (state) {
    case storage::KeyState::kNext:
      return v1::SIGNING_KEY_STATE_NEXT;
    case storage::KeyState::kActive:
      return v1::SIGNING_KEY_STATE_ACTIVE;
    case storage::KeyState::kRetired:
      return v1::SIGNING_KEY_STATE_RETIRED;
    case storage::KeyState::kRemoved:
      return v1::SIGNING_KEY_STATE_REMOVED;
  }
  return v1::SIGNING_KEY_STATE_UNSPECIFIED;
}

// Unset for "never" (InfiniteFuture), so clients do not see year 9999.
void SetTime(absl::Time time, google::protobuf::Timestamp* (v1::SigningKeyInfo::*field)(),
             v1::SigningKeyInfo* info) {
  if (time == absl::InfiniteFuture() || time == absl::InfinitePast()) return;
  ToProtoTimestamp(time, (info->*field)());
}

void KeyInfoToProto(const keys::KeyInfo& key, v1::SigningKeyInfo* out) {
  out->set_kid(key.kid);
  out->set_algorithm(key.algorithm);
  out->set_state(StateToProto(key.state));
  out->set_signing(key.signing);
  out->set_origin(key.origin);
  out->set_kek_id(key.kek_id);
  SetTime(key.created_at, &v1::SigningKeyInfo::mutable_created_at, out);
  SetTime(key.activates_at, &v1::SigningKeyInfo::mutable_activates_at, out);
  SetTime(key.retires_at, &v1::SigningKeyInfo::mutable_retires_at, out);
  SetTime(key.remove_after, &v1::SigningKeyInfo::mutable_remove_after, out);
  SetTime(key.removed_at, &v1::SigningKeyInfo::mutable_removed_at, out);
  out->set_removal_reason(key.removal_reason);
}

}  // namespace

KeyAdminGrpc::KeyAdminGrpc(CallRunner& runner, Options options)
    : runner_(runner), key_manager_(options.key_manager), rpcs_enabled_(options.rpcs_enabled) {}

absl::Status KeyAdminGrpc::CheckAccess(const ::grpc::CallbackServerContext& context,
                                       RpcMethod method, std::string* caller) const {
  // The caller policy first: admin RPCs are denied unless a policy entry grants them by name.
  const auth::Admission admission = runner_.Admit(context, method);
  *caller = admission.caller_id();
  TOKEND_RETURN_IF_ERROR(admission.status());
  if (!rpcs_enabled_) {
    return absl::PermissionDeniedError(
        "signing-key administration over gRPC is disabled (start tokend with --key_admin_rpcs, "
        "or use `tokend keys ...` next to the database)");
  }
  if (key_manager_ == nullptr) {
    return absl::FailedPreconditionError(
        "this server does not manage its signing keys (start it with --kek_file or TOKEND_KEK)");
  }
  return absl::OkStatus();
}

::grpc::ServerUnaryReactor* KeyAdminGrpc::RotateSigningKey(
    ::grpc::CallbackServerContext* context, const v1::RotateSigningKeyRequest* request,
    v1::RotateSigningKeyResponse* response) {
  CallScope call = runner_.Begin(context, RpcMethod::kRotateSigningKey);
  std::string caller;
  const absl::Status allowed = CheckAccess(*context, RpcMethod::kRotateSigningKey, &caller);
  call.SetAudit([caller](const absl::Status& status) {
    return auth::KeyAuditEvent("rotate", "", caller, status);
  });
  if (!allowed.ok()) return call.Finish(allowed);
  const keys::RotateMode mode =
      request->immediate() ? keys::RotateMode::kImmediate : keys::RotateMode::kPublishFirst;
  return runner_.RunBlocking(
      std::move(call),
      [this, response, mode, caller = std::move(caller)](CallScope& call) -> absl::Status {
        TOKEND_ASSIGN_OR_RETURN(keys::RotateOutcome outcome, key_manager_->RotateNow(mode));
        call.SetAudit([caller, kid = outcome.kid](const absl::Status& status) {
          return auth::KeyAuditEvent("rotate", kid, caller, status);
        });
        response->set_kid(outcome.kid);
        ToProtoTimestamp(outcome.activates_at, response->mutable_activates_at());
        response->set_rotated_now(outcome.rotated_now);
        return absl::OkStatus();
      });
}

::grpc::ServerUnaryReactor* KeyAdminGrpc::ListSigningKeys(
    ::grpc::CallbackServerContext* context, const v1::ListSigningKeysRequest* /*request*/,
    v1::ListSigningKeysResponse* response) {
  CallScope call = runner_.Begin(context, RpcMethod::kListSigningKeys);
  std::string caller;
  if (absl::Status allowed = CheckAccess(*context, RpcMethod::kListSigningKeys, &caller);
      !allowed.ok()) {
    return call.Finish(allowed);
  }
  return runner_.RunBlocking(
      std::move(call), [this, response](CallScope& /*call*/) -> absl::Status {
        TOKEND_ASSIGN_OR_RETURN(std::vector<keys::KeyInfo> keys, key_manager_->ListKeys());
        for (const keys::KeyInfo& key : keys) {
          KeyInfoToProto(key, response->add_keys());
        }
        return absl::OkStatus();
      });
}

::grpc::ServerUnaryReactor* KeyAdminGrpc::RemoveSigningKey(
    ::grpc::CallbackServerContext* context, const v1::RemoveSigningKeyRequest* request,
    v1::RemoveSigningKeyResponse* response) {
  CallScope call = runner_.Begin(context, RpcMethod::kRemoveSigningKey);
  std::string caller;
  absl::Status checked = CheckAccess(*context, RpcMethod::kRemoveSigningKey, &caller);
  call.SetAudit([kid = request->kid(), caller](const absl::Status& status) {
    return auth::KeyAuditEvent("remove", kid, caller, status);
  });
  if (checked.ok() && (request->kid().empty() || request->kid().size() > kMaxKidBytes)) {
    checked = absl::InvalidArgumentError("kid is required (at most 256 bytes)");
  }
  if (checked.ok() && request->reason().size() > kMaxReasonBytes) {
    checked = absl::InvalidArgumentError("reason is longer than 512 bytes");
  }
  // Why: the reason is logged and stored; control characters could forge log lines.
  const auto has_control = [](const std::string& text) {
    return std::any_of(text.begin(), text.end(),
                       [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
  };
  if (checked.ok() && (has_control(request->kid()) || has_control(request->reason()))) {
    checked = absl::InvalidArgumentError("kid and reason must not contain control characters");
  }
  if (!checked.ok()) return call.Finish(checked);
  return runner_.RunBlocking(std::move(call),
                             [this, response, kid = request->kid(),
                              reason = request->reason()](CallScope& /*call*/) -> absl::Status {
                               TOKEND_ASSIGN_OR_RETURN(storage::KeyRemovalResult removed,
                                                       key_manager_->RemoveKey(kid, reason));
                               response->set_previous_state(StateToProto(removed.previous_state));
                               response->set_new_active_kid(removed.new_active_kid);
                               return absl::OkStatus();
                             });
}

}  // namespace tokend::grpc
