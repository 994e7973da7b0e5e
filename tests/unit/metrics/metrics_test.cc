#include "services/tokend/metrics/metrics.h"

#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"
#include "tests/testing/metric_value.h"

namespace tokend::metrics {
namespace {

using tokend::testing::MetricValue;

TEST(MetricsTest, RegistersEveryFamily) {
  prometheus::Registry registry;
  Metrics metrics(registry);
  // prometheus-cpp collects only families with a series; these two have none until first use.
  metrics.RecordStoreError("Ping", absl::StatusCode::kUnavailable);
  metrics.SetActiveSigningKey("kid", "EdDSA");
  std::set<std::string> names;
  for (const prometheus::MetricFamily& family : registry.Collect()) names.insert(family.name);
  for (const char* name :
       {"grpc_server_started_total", "grpc_server_handled_total", "grpc_server_handling_seconds",
        "tokend_tokens_issued_total", "tokend_verify_results_total", "tokend_refresh_total",
        "tokend_refresh_reuse_detected_total", "tokend_revocations_total",
        "tokend_denylist_entries", "tokend_denylist_last_sync_timestamp_seconds",
        "tokend_denylist_staleness_seconds", "tokend_denylist_propagation_seconds",
        "tokend_store_errors_total", "tokend_store_up", "tokend_db_pool_connections",
        "tokend_signing_key_info", "tokend_signing_key_age_seconds"}) {
    EXPECT_TRUE(names.contains(name)) << name;
  }
}

TEST(MetricsTest, HotPathSeriesExistAtZeroBeforeFirstUse) {
  prometheus::Registry registry;
  Metrics metrics(registry);
  EXPECT_EQ(MetricValue(registry, "tokend_verify_results_total", {{"result", "revoked"}}), 0.0);
  EXPECT_EQ(MetricValue(registry, "grpc_server_handled_total",
                        {{"grpc_service", "tokend.v1.TokenService"},
                         {"grpc_method", "Verify"},
                         {"grpc_code", "Unauthenticated"}}),
            0.0);
  EXPECT_EQ(MetricValue(registry, "tokend_refresh_total", {{"outcome", "grace_retry"}}), 0.0);
}

TEST(MetricsTest, RecordVerifyCountsPerResult) {
  prometheus::Registry registry;
  Metrics metrics(registry);
  metrics.RecordVerify(0);
  metrics.RecordVerify(0);
  metrics.RecordVerify(13);
  metrics.RecordVerify(99);  // out of range: ignored, never a crash
  EXPECT_EQ(MetricValue(registry, "tokend_verify_results_total", {{"result", "valid"}}), 2.0);
  EXPECT_EQ(MetricValue(registry, "tokend_verify_results_total", {{"result", "revoked"}}), 1.0);
  EXPECT_EQ(MetricValue(registry, "tokend_verify_results_total", {{"result", "expired"}}), 0.0);
}

TEST(MetricsTest, ObserveRpcCountsByCodeAndTimes) {
  prometheus::Registry registry;
  Metrics metrics(registry);
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

TEST(MetricsTest, LatencyBucketsSpanTenthOfAMillisecondToFiveSeconds) {
  const auto& buckets = Metrics::RpcLatencyBuckets();
  ASSERT_FALSE(buckets.empty());
  EXPECT_DOUBLE_EQ(buckets.front(), 0.0001);
  EXPECT_DOUBLE_EQ(buckets.back(), 5.0);
  for (size_t i = 1; i < buckets.size(); ++i) EXPECT_LT(buckets[i - 1], buckets[i]);
}

TEST(MetricsTest, ActiveSigningKeyInfoNamesOnlyTheCurrentKey) {
  prometheus::Registry registry;
  Metrics metrics(registry);
  metrics.SetActiveSigningKey("kid-1", "EdDSA");
  metrics.SetActiveSigningKey("kid-2", "ES256");
  EXPECT_EQ(MetricValue(registry, "tokend_signing_key_info", {{"kid", "kid-2"}, {"alg", "ES256"}}),
            1.0);
  EXPECT_EQ(MetricValue(registry, "tokend_signing_key_info", {{"kid", "kid-1"}, {"alg", "EdDSA"}}),
            std::nullopt);
}

TEST(MetricsTest, StoreErrorsAndGauges) {
  prometheus::Registry registry;
  Metrics metrics(registry);
  metrics.RecordStoreError("RotateRefreshToken", absl::StatusCode::kAborted);
  metrics.RecordStoreError("RotateRefreshToken", absl::StatusCode::kAborted);
  metrics.SetDenylistSizes(3, 2, 1);
  metrics.SetDbPoolConnections(4, 6);
  metrics.SetStoreUp(true);
  metrics.ObservePropagation(absl::Milliseconds(-5));  // clock skew between replicas: clamped
  EXPECT_EQ(MetricValue(registry, "tokend_store_errors_total",
                        {{"operation", "RotateRefreshToken"}, {"code", "Aborted"}}),
            2.0);
  EXPECT_EQ(MetricValue(registry, "tokend_denylist_entries", {{"kind", "family"}}), 2.0);
  EXPECT_EQ(MetricValue(registry, "tokend_db_pool_connections", {{"state", "busy"}}), 6.0);
  EXPECT_EQ(MetricValue(registry, "tokend_store_up"), 1.0);
  EXPECT_EQ(MetricValue(registry, "tokend_denylist_propagation_seconds"), 1.0);
}

TEST(MetricsTest, RefreshOutcomeLabelsComeFromTheStoresDecisionOrTheFailure) {
  using storage::RotateOutcome;
  const std::pair<RotateOutcome, std::string_view> decided[] = {
      {RotateOutcome::kRotated, "rotated"},
      {RotateOutcome::kGraceRetry, "grace_retry"},
      {RotateOutcome::kReuseDetected, "reuse_detected"},
      {RotateOutcome::kNotFound, "not_found"},
      {RotateOutcome::kExpired, "expired"},
      {RotateOutcome::kRevoked, "revoked"},
      {RotateOutcome::kClientMismatch, "client_mismatch"},
      {RotateOutcome::kScopeNotGranted, "invalid_request"},
  };
  for (const auto& [outcome, label] : decided) EXPECT_EQ(RefreshOutcomeLabel(outcome), label);
  EXPECT_EQ(RefreshOutcomeLabel(absl::InvalidArgumentError("bad scope")), "invalid_request");
  EXPECT_EQ(RefreshOutcomeLabel(absl::UnavailableError("down")), "error");
  EXPECT_EQ(RefreshOutcomeLabel(absl::InternalError("hmac")), "error");

  // Every label is a series from the start, and each outcome counts under its own.
  prometheus::Registry registry;
  Metrics metrics(registry);
  for (const std::string_view label : kRefreshOutcomeLabels) {
    EXPECT_EQ(MetricValue(registry, "tokend_refresh_total", {{"outcome", std::string(label)}}), 0.0)
        << label;
  }
  metrics.RecordRefresh(RotateOutcome::kClientMismatch);
  metrics.RecordRefresh(RotateOutcome::kScopeNotGranted);
  metrics.RecordRefresh(absl::InvalidArgumentError("bad scope"));
  metrics.RecordRefresh(absl::UnavailableError("down"));
  EXPECT_EQ(MetricValue(registry, "tokend_refresh_total", {{"outcome", "client_mismatch"}}), 1.0);
  EXPECT_EQ(MetricValue(registry, "tokend_refresh_total", {{"outcome", "invalid_request"}}), 2.0);
  EXPECT_EQ(MetricValue(registry, "tokend_refresh_total", {{"outcome", "error"}}), 1.0);
  EXPECT_EQ(MetricValue(registry, "tokend_refresh_reuse_detected_total"), 0.0);
}

TEST(MetricsTest, SerializesAsPrometheusText) {
  prometheus::Registry registry;
  Metrics metrics(registry);
  metrics.RecordRefresh(storage::RotateOutcome::kReuseDetected);
  const std::string text = prometheus::TextSerializer().Serialize(registry.Collect());
  EXPECT_NE(text.find("tokend_refresh_total{outcome=\"reuse_detected\"} 1"), std::string::npos);
  EXPECT_NE(text.find("tokend_refresh_reuse_detected_total 1"), std::string::npos);
}

}  // namespace
}  // namespace tokend::metrics
