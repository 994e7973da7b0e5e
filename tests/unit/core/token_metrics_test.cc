#include "services/tokend/core/token_metrics.h"

#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"
#include "tests/testing/metric_value.h"

namespace tokend::core {
namespace {

using tokend::testing::MetricValue;

TEST(TokenMetricsTest, RegistersEveryFamily) {
  prometheus::Registry registry;
  TokenMetrics metrics(registry);
  // prometheus-cpp collects only families with a series; these two have none until first use.
  metrics.RecordStoreError("Ping", absl::StatusCode::kUnavailable);
  metrics.SetActiveSigningKey("kid", "EdDSA");
  std::set<std::string> names;
  for (const prometheus::MetricFamily& family : registry.Collect()) names.insert(family.name);
  for (const char* name :
       {"tokend_tokens_issued_total", "tokend_verify_results_total", "tokend_refresh_total",
        "tokend_refresh_reuse_detected_total", "tokend_revocations_total",
        "tokend_denylist_entries", "tokend_denylist_last_sync_timestamp_seconds",
        "tokend_denylist_staleness_seconds", "tokend_denylist_propagation_seconds",
        "tokend_store_errors_total", "tokend_store_up", "tokend_db_pool_connections",
        "tokend_signing_key_info", "tokend_signing_key_age_seconds"}) {
    EXPECT_TRUE(names.contains(name)) << name;
  }
}

TEST(TokenMetricsTest, HotPathSeriesExistAtZeroBeforeFirstUse) {
  prometheus::Registry registry;
  TokenMetrics metrics(registry);
  EXPECT_EQ(MetricValue(registry, "tokend_verify_results_total", {{"result", "revoked"}}), 0.0);
  EXPECT_EQ(MetricValue(registry, "tokend_refresh_total", {{"outcome", "grace_retry"}}), 0.0);
}

TEST(TokenMetricsTest, RecordVerifyCountsPerResult) {
  prometheus::Registry registry;
  TokenMetrics metrics(registry);
  metrics.RecordVerify(InvalidReason::kNone);
  metrics.RecordVerify(InvalidReason::kNone);
  metrics.RecordVerify(InvalidReason::kRevoked);
  metrics.RecordVerify(static_cast<InvalidReason>(99));  // out of range: ignored, never a crash
  EXPECT_EQ(MetricValue(registry, "tokend_verify_results_total", {{"result", "valid"}}), 2.0);
  EXPECT_EQ(MetricValue(registry, "tokend_verify_results_total", {{"result", "revoked"}}), 1.0);
  EXPECT_EQ(MetricValue(registry, "tokend_verify_results_total", {{"result", "expired"}}), 0.0);
}

TEST(TokenMetricsTest, VerifyResultLabelsAreDerivedFromTheReasonNames) {
  // The spelling the Prometheus rules and the Grafana dashboard select on.
  const std::vector<std::string> expected = {
      "valid",          "malformed",     "too_large",      "algorithm_not_allowed",
      "unknown_key",    "bad_signature", "wrong_type",     "expired",
      "not_yet_valid",  "wrong_issuer",  "wrong_audience", "insufficient_scope",
      "invalid_claims", "revoked"};
  ASSERT_EQ(expected.size(), kInvalidReasonCount);
  prometheus::Registry registry;
  TokenMetrics metrics(registry);
  for (size_t i = 0; i < kInvalidReasonCount; ++i) {
    const auto reason = static_cast<InvalidReason>(i);
    EXPECT_EQ(VerifyResultLabel(reason), expected[i]);
    metrics.RecordVerify(reason);
    EXPECT_EQ(MetricValue(registry, "tokend_verify_results_total", {{"result", expected[i]}}), 1.0)
        << expected[i];
  }
}

TEST(TokenMetricsTest, RevocationsAreCountedByWhatTheyNamed) {
  prometheus::Registry registry;
  TokenMetrics metrics(registry);
  metrics.RecordRevocation(storage::RevokeTarget::kSubject);
  metrics.RecordRevocation(storage::RevokeTarget::kSubject);
  metrics.RecordRevocation(storage::RevokeTarget::kRefreshToken);
  metrics.RecordRevocation(static_cast<storage::RevokeTarget>(42));  // ignored, never a crash
  EXPECT_EQ(MetricValue(registry, "tokend_revocations_total", {{"kind", "subject"}}), 2.0);
  EXPECT_EQ(MetricValue(registry, "tokend_revocations_total", {{"kind", "refresh_token"}}), 1.0);
  EXPECT_EQ(MetricValue(registry, "tokend_revocations_total", {{"kind", "access_token"}}), 0.0);
  EXPECT_EQ(MetricValue(registry, "tokend_revocations_total", {{"kind", "token_id"}}), 0.0);
}

TEST(TokenMetricsTest, ActiveSigningKeyInfoNamesOnlyTheCurrentKey) {
  prometheus::Registry registry;
  TokenMetrics metrics(registry);
  metrics.SetActiveSigningKey("kid-1", "EdDSA");
  metrics.SetActiveSigningKey("kid-2", "ES256");
  EXPECT_EQ(MetricValue(registry, "tokend_signing_key_info", {{"kid", "kid-2"}, {"alg", "ES256"}}),
            1.0);
  EXPECT_EQ(MetricValue(registry, "tokend_signing_key_info", {{"kid", "kid-1"}, {"alg", "EdDSA"}}),
            std::nullopt);
}

TEST(TokenMetricsTest, StoreErrorsAndGauges) {
  prometheus::Registry registry;
  TokenMetrics metrics(registry);
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

TEST(TokenMetricsTest, RefreshOutcomeLabelsComeFromTheStoresDecisionOrTheFailure) {
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
  TokenMetrics metrics(registry);
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

TEST(TokenMetricsTest, SerializesAsPrometheusText) {
  prometheus::Registry registry;
  TokenMetrics metrics(registry);
  metrics.RecordRefresh(storage::RotateOutcome::kReuseDetected);
  const std::string text = prometheus::TextSerializer().Serialize(registry.Collect());
  EXPECT_NE(text.find("tokend_refresh_total{outcome=\"reuse_detected\"} 1"), std::string::npos);
  EXPECT_NE(text.find("tokend_refresh_reuse_detected_total 1"), std::string::npos);
}

}  // namespace
}  // namespace tokend::core
