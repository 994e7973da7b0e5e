#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "services/tokend/core/token_types.h"
#include "storage/refresh_token.h"
#include "storage/revocation.h"

namespace tokend::core {

// The result label of tokend_verify_results_total, derived from InvalidReasonName: "valid" for
// kNone, else the name in lower case ("malformed", ..., "revoked").
std::string VerifyResultLabel(InvalidReason reason);

// The outcome label of tokend_refresh_total for how a refresh ended: what the store decided
// (storage::RotateOutcome, the one enum of refresh outcomes; kScopeNotGranted is
// "invalid_request"), or, for a refresh that ended before a decision, "invalid_request" when it
// was refused as INVALID_ARGUMENT and "error" for any other failure. The one mapping.
std::string_view RefreshOutcomeLabel(const absl::StatusOr<storage::RotateOutcome>& ended);
// Every label RefreshOutcomeLabel returns; each series exists (at 0) from the start.
inline constexpr std::array<std::string_view, 9> kRefreshOutcomeLabels = {
    "rotated", "grace_retry",     "reuse_detected",  "not_found", "expired",
    "revoked", "client_mismatch", "invalid_request", "error"};

// The kind label of tokend_tokens_issued_total.
enum class TokenKind { kAccess, kRefresh };

// The metric families of the token service, its denylist and its store, registered on the given
// registry (which must outlive this object); the RPC metrics are the gRPC edge's
// (grpc::RpcMetrics), those of caller auth and of the key lifecycle live beside them
// (auth::AuthMetrics, keys::KeyMetrics). Label values on hot paths (verify result, refresh
// outcome, issued kind) are created once in the constructor and cached, so recording is a pointer
// dereference and an atomic add: no label-map lookup. Labels never hold a token, a key or a
// secret (a kid is public). Thread-safe: prometheus-cpp metrics are atomic; the few methods that
// add or remove label sets lock `mu_`.
class TokenMetrics {
 public:
  explicit TokenMetrics(prometheus::Registry& registry);
  TokenMetrics(const TokenMetrics&) = delete;
  TokenMetrics& operator=(const TokenMetrics&) = delete;

  // --- token service.
  void RecordIssued(TokenKind kind);
  void RecordVerify(InvalidReason reason);
  // Counts one refresh under RefreshOutcomeLabel(ended) (and a reuse in its own counter too).
  void RecordRefresh(const absl::StatusOr<storage::RotateOutcome>& ended);
  // tokend_revocations_total{kind}: kind is RevokeTargetName(target).
  void RecordRevocation(storage::RevokeTarget target);
  // Rare; looks the label set up. `operation` names the TokenStore method ("RotateRefreshToken").
  void RecordStoreError(std::string_view operation, absl::StatusCode code);

  // --- denylist.
  void SetDenylistSizes(size_t token_ids, size_t families, size_t subjects);
  void SetDenylistLastSync(absl::Time synced_at);
  void SetDenylistStaleness(absl::Duration staleness);
  void ObservePropagation(absl::Duration delay);  // revoked_at -> applied on this replica
  void SetStoreUp(bool up);

  // --- PostgreSQL pool (set by main from the store's pool statistics).
  void SetDbPoolConnections(size_t idle, size_t busy);

  // --- signing key: tokend_signing_key_info{kid,alg} = 1 for the active key only.
  void SetActiveSigningKey(std::string_view kid, std::string_view alg);
  void SetSigningKeyAge(absl::Duration age);

  // The families, for tests and for callers that need a label set not cached above.
  prometheus::Family<prometheus::Counter>& tokens_issued_total;
  prometheus::Family<prometheus::Counter>& verify_results_total;
  prometheus::Family<prometheus::Counter>& refresh_total;
  prometheus::Family<prometheus::Counter>& refresh_reuse_detected_total;
  prometheus::Family<prometheus::Counter>& revocations_total;
  prometheus::Family<prometheus::Gauge>& denylist_entries;
  prometheus::Family<prometheus::Gauge>& denylist_last_sync_timestamp_seconds;
  prometheus::Family<prometheus::Gauge>& denylist_staleness_seconds;
  prometheus::Family<prometheus::Histogram>& denylist_propagation_seconds;
  prometheus::Family<prometheus::Counter>& store_errors_total;
  prometheus::Family<prometheus::Gauge>& store_up;
  prometheus::Family<prometheus::Gauge>& db_pool_connections;
  prometheus::Family<prometheus::Gauge>& signing_key_info;
  prometheus::Family<prometheus::Gauge>& signing_key_age_seconds;

  // Bucket boundaries, exposed for tests.
  static const prometheus::Histogram::BucketBoundaries& PropagationBuckets();

 private:
  std::array<prometheus::Counter*, 2> issued_{};
  std::array<prometheus::Counter*, kInvalidReasonCount> verify_{};
  std::array<prometheus::Counter*, kRefreshOutcomeLabels.size()> refresh_{};
  prometheus::Counter* reuse_detected_ = nullptr;
  std::array<prometheus::Counter*, storage::kRevokeTargetCount> revocations_{};
  prometheus::Gauge* denylist_token_ids_ = nullptr;
  prometheus::Gauge* denylist_families_ = nullptr;
  prometheus::Gauge* denylist_subjects_ = nullptr;
  prometheus::Gauge* last_sync_ = nullptr;
  prometheus::Gauge* staleness_ = nullptr;
  prometheus::Histogram* propagation_ = nullptr;
  prometheus::Gauge* store_up_ = nullptr;
  prometheus::Gauge* pool_idle_ = nullptr;
  prometheus::Gauge* pool_busy_ = nullptr;
  prometheus::Gauge* key_age_ = nullptr;

  absl::Mutex mu_;  // serializes label-set changes (store errors, signing key info)
  prometheus::Gauge* active_key_info_ ABSL_GUARDED_BY(mu_) = nullptr;
};

}  // namespace tokend::core
