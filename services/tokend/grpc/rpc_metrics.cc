#include "services/tokend/grpc/rpc_metrics.h"

#include <string>

#include "tokend/v1/token_service.grpc.pb.h"

namespace tokend::grpc {
namespace {

std::string S(std::string_view v) { return std::string(v); }

constexpr int kUnknownCode = static_cast<int>(absl::StatusCode::kUnknown);

}  // namespace

const prometheus::Histogram::BucketBoundaries& RpcMetrics::RpcLatencyBuckets() {
  static const auto* const kBuckets = new prometheus::Histogram::BucketBoundaries{
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
      0.05,   0.1,     0.25,   0.5,   1.0,    2.5,   5.0};
  return *kBuckets;
}

RpcMetrics::RpcMetrics(prometheus::Registry& registry)
    : grpc_server_started_total(prometheus::BuildCounter()
                                    .Name("grpc_server_started_total")
                                    .Help("Total number of RPCs started on the server.")
                                    .Register(registry)),
      grpc_server_handled_total(
          prometheus::BuildCounter()
              .Name("grpc_server_handled_total")
              .Help("Total number of RPCs completed on the server, regardless of success.")
              .Register(registry)),
      grpc_server_handling_seconds(
          prometheus::BuildHistogram()
              .Name("grpc_server_handling_seconds")
              .Help("Histogram of response latency (seconds) of gRPC handled by the server.")
              .Register(registry)) {
  const std::string service = v1::TokenService::service_full_name();  // "tokend.v1.TokenService"
  for (size_t m = 0; m < kRpcMethodCount; ++m) {
    const std::string method = S(RpcMethodName(static_cast<RpcMethod>(m)));
    started_[m] =
        &grpc_server_started_total.Add({{"grpc_service", service}, {"grpc_method", method}});
    handling_[m] = &grpc_server_handling_seconds.Add(
        {{"grpc_service", service}, {"grpc_method", method}}, RpcLatencyBuckets());
    for (int c = 0; c < util::kStatusCodeCount; ++c) {
      handled_[m][static_cast<size_t>(c)] =
          &grpc_server_handled_total.Add({{"grpc_service", service},
                                          {"grpc_method", method},
                                          {"grpc_code", S(util::StatusCodeName(c))}});
    }
  }
}

void RpcMetrics::RpcStarted(RpcMethod method) {
  started_[static_cast<size_t>(method)]->Increment();
}

void RpcMetrics::ObserveRpc(RpcMethod method, int code, double seconds) {
  const auto m = static_cast<size_t>(method);
  const int c = (code < 0 || code >= util::kStatusCodeCount) ? kUnknownCode : code;
  handled_[m][static_cast<size_t>(c)]->Increment();
  handling_[m]->Observe(seconds);
}

}  // namespace tokend::grpc
