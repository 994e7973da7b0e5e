#pragma once

#include <array>
#include <cstddef>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "util/status_code_name.h"

namespace tokend::grpc {

// The RPCs of tokend.v1.TokenService, as the grpc_method label names them.
enum class RpcMethod {
  kIssue,
  kVerify,
  kRefresh,
  kRevoke,
  kGetJwks,
  kRotateSigningKey,
  kListSigningKeys,
  kRemoveSigningKey,
};
inline constexpr size_t kRpcMethodCount = 8;

// "Issue", "Verify", ... (the proto's method names); "" out of range.
constexpr std::string_view RpcMethodName(RpcMethod method) {
  switch (method) {
    case RpcMethod::kIssue:
      return "Issue";
    case RpcMethod::kVerify:
      return "Verify";
    case RpcMethod::kRefresh:
      return "Refresh";
    case RpcMethod::kRevoke:
      return "Revoke";
    case RpcMethod::kGetJwks:
      return "GetJwks";
    case RpcMethod::kRotateSigningKey:
      return "RotateSigningKey";
    case RpcMethod::kListSigningKeys:
      return "ListSigningKeys";
    case RpcMethod::kRemoveSigningKey:
      return "RemoveSigningKey";
  }
  return "";
}
static_assert(RpcMethodName(static_cast<RpcMethod>(kRpcMethodCount)).empty(),
              "kRpcMethodCount must count every RpcMethod");

// The gRPC server's metrics, recorded by the adapter only, with the names and labels of
// go-grpc-prometheus so standard dashboards work:
//   grpc_server_started_total{grpc_service,grpc_method}
//   grpc_server_handled_total{grpc_service,grpc_method,grpc_code}
//   grpc_server_handling_seconds{grpc_service,grpc_method}   histogram
// Registered on `registry` (which must outlive this object). Every series is created in the
// constructor, so recording is a pointer dereference and an atomic add. Thread-safe.
class RpcMetrics {
 public:
  explicit RpcMetrics(prometheus::Registry& registry);
  RpcMetrics(const RpcMetrics&) = delete;
  RpcMetrics& operator=(const RpcMetrics&) = delete;

  void RpcStarted(RpcMethod method);
  // `code` is the numeric gRPC / absl status code (they coincide); an unknown one counts as
  // "Unknown".
  void ObserveRpc(RpcMethod method, int code, double seconds);
  void ObserveRpc(RpcMethod method, absl::StatusCode code, absl::Duration elapsed) {
    ObserveRpc(method, static_cast<int>(code), absl::ToDoubleSeconds(elapsed));
  }

  prometheus::Family<prometheus::Counter>& grpc_server_started_total;
  prometheus::Family<prometheus::Counter>& grpc_server_handled_total;
  prometheus::Family<prometheus::Histogram>& grpc_server_handling_seconds;

  // Bucket boundaries, exposed for tests.
  static const prometheus::Histogram::BucketBoundaries& RpcLatencyBuckets();

 private:
  std::array<prometheus::Counter*, kRpcMethodCount> started_{};
  std::array<std::array<prometheus::Counter*, util::kStatusCodeCount>, kRpcMethodCount> handled_{};
  std::array<prometheus::Histogram*, kRpcMethodCount> handling_{};
};

}  // namespace tokend::grpc
