#include "services/tokend/grpc/rpc_metrics.h"

#include <map>
#include <set>
#include <string>

#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "tests/testing/metric_value.h"

namespace tokend::grpc {
namespace {

using tokend::testing::MetricValue;

TEST(RpcMetricsTest, RegistersTheGoGrpcPrometheusFamilies) {
  prometheus::Registry registry;
  RpcMetrics metrics(registry);
  std::set<std::string> names;
  for (const prometheus::MetricFamily& family : registry.Collect()) names.insert(family.name);
  for (const char* name :
       {"grpc_server_started_total", "grpc_server_handled_total", "grpc_server_handling_seconds"}) {
    EXPECT_TRUE(names.contains(name)) << name;
  }
}

TEST(RpcMetricsTest, EveryMethodAndCodeExistsAtZeroBeforeFirstUse) {
  prometheus::Registry registry;
  RpcMetrics metrics(registry);
  EXPECT_EQ(MetricValue(registry, "grpc_server_handled_total",
                        {{"grpc_service", "tokend.v1.TokenService"},
                         {"grpc_method", "Verify"},
                         {"grpc_code", "Unauthenticated"}}),
            0.0);
  for (const char* method : {"Issue", "Verify", "Refresh", "Revoke", "GetJwks", "RotateSigningKey",
                             "ListSigningKeys", "RemoveSigningKey"}) {
    EXPECT_EQ(MetricValue(registry, "grpc_server_started_total",
                          {{"grpc_service", "tokend.v1.TokenService"}, {"grpc_method", method}}),
              0.0)
        << method;
  }
}

TEST(RpcMetricsTest, ObserveRpcCountsByCodeAndTimes) {
  prometheus::Registry registry;
  RpcMetrics metrics(registry);
  metrics.RpcStarted(RpcMethod::kRefresh);
  metrics.ObserveRpc(RpcMethod::kRefresh, absl::StatusCode::kUnavailable, absl::Milliseconds(3));
  metrics.ObserveRpc(RpcMethod::kRefresh, 0, 0.001);
  metrics.ObserveRpc(RpcMethod::kRefresh, 42, 0.001);  // unknown code
  const std::map<std::string, std::string> base = {{"grpc_service", "tokend.v1.TokenService"},
                                                   {"grpc_method", "Refresh"}};
  auto with_code = [&](const char* code) {
    auto labels = base;
    labels["grpc_code"] = code;
    return MetricValue(registry, "grpc_server_handled_total", labels);
  };
  EXPECT_EQ(MetricValue(registry, "grpc_server_started_total", base), 1.0);
  EXPECT_EQ(with_code("Unavailable"), 1.0);
  EXPECT_EQ(with_code("OK"), 1.0);
  EXPECT_EQ(with_code("Unknown"), 1.0);
  EXPECT_EQ(MetricValue(registry, "grpc_server_handling_seconds", base), 3.0);
}

TEST(RpcMetricsTest, LatencyBucketsSpanTenthOfAMillisecondToFiveSeconds) {
  const auto& buckets = RpcMetrics::RpcLatencyBuckets();
  ASSERT_FALSE(buckets.empty());
  EXPECT_DOUBLE_EQ(buckets.front(), 0.0001);
  EXPECT_DOUBLE_EQ(buckets.back(), 5.0);
  for (size_t i = 1; i < buckets.size(); ++i) EXPECT_LT(buckets[i - 1], buckets[i]);
}

TEST(RpcMethodTest, NamesAreTheProtoMethodNames) {
  EXPECT_EQ(RpcMethodName(RpcMethod::kIssue), "Issue");
  EXPECT_EQ(RpcMethodName(RpcMethod::kGetJwks), "GetJwks");
  EXPECT_EQ(RpcMethodName(RpcMethod::kRemoveSigningKey), "RemoveSigningKey");
}

}  // namespace
}  // namespace tokend::grpc
