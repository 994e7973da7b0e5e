#include "services/tokend/core/token_metrics.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/string_view.h"
#include "util/status_code_name.h"

namespace tokend::core {
namespace {

std::string S(std::string_view v) { return std::string(v); }

}  // namespace

std::string VerifyResultLabel(InvalidReason reason) {
  if (reason == InvalidReason::kNone) return "valid";
  const std::string_view name = InvalidReasonName(reason);
  return absl::AsciiStrToLower(absl::string_view(name.data(), name.size()));
}

std::string_view RefreshOutcomeLabel(const absl::StatusOr<storage::RotateOutcome>& ended) {
  if (!ended.ok()) {
    return ended.status().code() == absl::StatusCode::kInvalidArgument ? "invalid_request"
                                                                       : "error";
  }
  switch (*ended) {
    case storage::RotateOutcome::kRotated:
      return "rotated";
    case storage::RotateOutcome::kGraceRetry:
      return "grace_retry";
    case storage::RotateOutcome::kReuseDetected:
      return "reuse_detected";
    case storage::RotateOutcome::kNotFound:
      return "not_found";
    case storage::RotateOutcome::kExpired:
      return "expired";
    case storage::RotateOutcome::kRevoked:
      return "revoked";
    case storage::RotateOutcome::kClientMismatch:
      return "client_mismatch";
    case storage::RotateOutcome::kScopeNotGranted:
      return "invalid_request";  // as any other request that asks for more than it may
  }
  return "error";  // not a valid RotateOutcome
}

const prometheus::Histogram::BucketBoundaries& TokenMetrics::PropagationBuckets() {
  static const auto* const kBuckets = new prometheus::Histogram::BucketBoundaries{
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0};
  return *kBuckets;
}

TokenMetrics::TokenMetrics(prometheus::Registry& registry)
    : tokens_issued_total(prometheus::BuildCounter()
                              .Name("tokend_tokens_issued_total")
                              .Help("Tokens issued, by kind (access, refresh).")
                              .Register(registry)),
      verify_results_total(prometheus::BuildCounter()
                               .Name("tokend_verify_results_total")
                               .Help("Verify answers, by result (valid or the reason).")
                               .Register(registry)),
      refresh_total(prometheus::BuildCounter()
                        .Name("tokend_refresh_total")
                        .Help("Refresh attempts, by outcome.")
                        .Register(registry)),
      refresh_reuse_detected_total(
          prometheus::BuildCounter()
              .Name("tokend_refresh_reuse_detected_total")
              .Help("Spent refresh tokens presented again outside the grace window; each "
                    "revoked its family.")
              .Register(registry)),
      revocations_total(prometheus::BuildCounter()
                            .Name("tokend_revocations_total")
                            .Help("Successful Revoke calls, by what they named.")
                            .Register(registry)),
      denylist_entries(prometheus::BuildGauge()
                           .Name("tokend_denylist_entries")
                           .Help("Entries in this replica's in-memory denylist, by kind.")
                           .Register(registry)),
      denylist_last_sync_timestamp_seconds(
          prometheus::BuildGauge()
              .Name("tokend_denylist_last_sync_timestamp_seconds")
              .Help("Unix time of the last successful full denylist reload.")
              .Register(registry)),
      denylist_staleness_seconds(
          prometheus::BuildGauge()
              .Name("tokend_denylist_staleness_seconds")
              .Help("Seconds since the last successful full denylist reload.")
              .Register(registry)),
      denylist_propagation_seconds(
          prometheus::BuildHistogram()
              .Name("tokend_denylist_propagation_seconds")
              .Help("Delay from a revocation's commit (revoked_at) to its application on this "
                    "replica.")
              .Register(registry)),
      store_errors_total(prometheus::BuildCounter()
                             .Name("tokend_store_errors_total")
                             .Help("Failed token store calls, by operation and status code.")
                             .Register(registry)),
      store_up(prometheus::BuildGauge()
                   .Name("tokend_store_up")
                   .Help("1 if the last call to reload from the token store succeeded.")
                   .Register(registry)),
      db_pool_connections(prometheus::BuildGauge()
                              .Name("tokend_db_pool_connections")
                              .Help("PostgreSQL pool connections, by state (idle, busy).")
                              .Register(registry)),
      signing_key_info(prometheus::BuildGauge()
                           .Name("tokend_signing_key_info")
                           .Help("1 for the active signing key, labelled by kid and alg.")
                           .Register(registry)),
      signing_key_age_seconds(prometheus::BuildGauge()
                                  .Name("tokend_signing_key_age_seconds")
                                  .Help("Age of the active signing key, in seconds.")
                                  .Register(registry)) {
  issued_[static_cast<size_t>(TokenKind::kAccess)] = &tokens_issued_total.Add({{"kind", "access"}});
  issued_[static_cast<size_t>(TokenKind::kRefresh)] =
      &tokens_issued_total.Add({{"kind", "refresh"}});
  for (size_t i = 0; i < kInvalidReasonCount; ++i) {
    verify_[i] =
        &verify_results_total.Add({{"result", VerifyResultLabel(static_cast<InvalidReason>(i))}});
  }
  for (size_t i = 0; i < kRefreshOutcomeLabels.size(); ++i) {
    refresh_[i] = &refresh_total.Add({{"outcome", S(kRefreshOutcomeLabels[i])}});
  }
  reuse_detected_ = &refresh_reuse_detected_total.Add({});
  for (size_t i = 0; i < storage::kRevokeTargetCount; ++i) {
    revocations_[i] = &revocations_total.Add(
        {{"kind", S(storage::RevokeTargetName(static_cast<storage::RevokeTarget>(i)))}});
  }
  denylist_token_ids_ = &denylist_entries.Add({{"kind", "token_id"}});
  denylist_families_ = &denylist_entries.Add({{"kind", "family"}});
  denylist_subjects_ = &denylist_entries.Add({{"kind", "subject"}});
  last_sync_ = &denylist_last_sync_timestamp_seconds.Add({});
  staleness_ = &denylist_staleness_seconds.Add({});
  propagation_ = &denylist_propagation_seconds.Add({}, PropagationBuckets());
  store_up_ = &store_up.Add({});
  pool_idle_ = &db_pool_connections.Add({{"state", "idle"}});
  pool_busy_ = &db_pool_connections.Add({{"state", "busy"}});
  key_age_ = &signing_key_age_seconds.Add({});
}

void TokenMetrics::RecordIssued(TokenKind kind) { issued_[static_cast<size_t>(kind)]->Increment(); }

void TokenMetrics::RecordVerify(InvalidReason reason) {
  const auto i = static_cast<size_t>(reason);
  if (i >= verify_.size()) return;  // cannot happen; never crash on a metric
  verify_[i]->Increment();
}

void TokenMetrics::RecordRefresh(const absl::StatusOr<storage::RotateOutcome>& ended) {
  if (ended.ok() && *ended == storage::RotateOutcome::kReuseDetected) reuse_detected_->Increment();
  const std::string_view label = RefreshOutcomeLabel(ended);
  for (size_t i = 0; i < kRefreshOutcomeLabels.size(); ++i) {
    if (kRefreshOutcomeLabels[i] == label) {
      refresh_[i]->Increment();
      return;
    }
  }
  refresh_total.Add({{"outcome", S(label)}}).Increment();  // a label not listed: still counted
}

void TokenMetrics::RecordRevocation(storage::RevokeTarget target) {
  const auto i = static_cast<size_t>(target);
  if (i >= revocations_.size()) return;  // cannot happen; never crash on a metric
  revocations_[i]->Increment();
}

void TokenMetrics::RecordStoreError(std::string_view operation, absl::StatusCode code) {
  // Family::Add is thread-safe and returns the existing series for a known label set.
  store_errors_total.Add({{"operation", S(operation)}, {"code", S(util::StatusCodeName(code))}})
      .Increment();
}

void TokenMetrics::SetDenylistSizes(size_t token_ids, size_t families, size_t subjects) {
  denylist_token_ids_->Set(static_cast<double>(token_ids));
  denylist_families_->Set(static_cast<double>(families));
  denylist_subjects_->Set(static_cast<double>(subjects));
}

void TokenMetrics::SetDenylistLastSync(absl::Time synced_at) {
  last_sync_->Set(absl::ToDoubleSeconds(synced_at - absl::UnixEpoch()));
}

void TokenMetrics::SetDenylistStaleness(absl::Duration staleness) {
  staleness_->Set(absl::ToDoubleSeconds(staleness));
}

void TokenMetrics::ObservePropagation(absl::Duration delay) {
  propagation_->Observe(
      absl::ToDoubleSeconds(delay < absl::ZeroDuration() ? absl::ZeroDuration() : delay));
}

void TokenMetrics::SetStoreUp(bool up) { store_up_->Set(up ? 1.0 : 0.0); }

void TokenMetrics::SetDbPoolConnections(size_t idle, size_t busy) {
  pool_idle_->Set(static_cast<double>(idle));
  pool_busy_->Set(static_cast<double>(busy));
}

void TokenMetrics::SetActiveSigningKey(std::string_view kid, std::string_view alg) {
  absl::MutexLock lock(&mu_);
  prometheus::Gauge& next = signing_key_info.Add({{"kid", S(kid)}, {"alg", S(alg)}});
  if (active_key_info_ != nullptr && active_key_info_ != &next) {
    signing_key_info.Remove(active_key_info_);
  }
  next.Set(1.0);
  active_key_info_ = &next;
}

void TokenMetrics::SetSigningKeyAge(absl::Duration age) {
  key_age_->Set(absl::ToDoubleSeconds(age));
}

}  // namespace tokend::core
