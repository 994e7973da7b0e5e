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
#include "storage/refresh_token.h"

namespace tokend::metrics {

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
std::string_view RpcMethodName(RpcMethod method);  // "Issue", ...

// The grpc_code label for a status code (0..16), as grpc-go and go-grpc-prometheus spell it:
// "OK", "Canceled", ..., "Unauthenticated". Out-of-range codes are "Unknown".
std::string_view GrpcCodeName(int code);
inline constexpr int kGrpcCodeCount = 17;

// The result label of tokend_verify_results_total, indexed like core::InvalidReason
// ("valid" for kNone, then each reason in lower snake case). core static_asserts the match.
inline constexpr std::array<std::string_view, 14> kVerifyResultLabels = {
    "valid",          "malformed",     "too_large",      "algorithm_not_allowed",
    "unknown_key",    "bad_signature", "wrong_type",     "expired",
    "not_yet_valid",  "wrong_issuer",  "wrong_audience", "insufficient_scope",
    "invalid_claims", "revoked"};

// The outcome label of tokend_refresh_total for how a refresh ended: what the store decided
// (storage::RotateOutcome, the one enum of refresh outcomes; kScopeNotGranted is
// "invalid_request"), or, for a refresh that ended before a decision, "invalid_request" when it
// was refused as INVALID_ARGUMENT and "error" for any other failure. The one mapping.
std::string_view RefreshOutcomeLabel(const absl::StatusOr<storage::RotateOutcome>& ended);
// Every label RefreshOutcomeLabel returns; each series exists (at 0) from the start.
inline constexpr std::array<std::string_view, 9> kRefreshOutcomeLabels = {
    "rotated", "grace_retry",     "reuse_detected",  "not_found", "expired",
    "revoked", "client_mismatch", "invalid_request", "error"};

// The kind label of tokend_revocations_total: what the Revoke request named.
enum class RevokeKind { kAccessToken, kTokenId, kRefreshToken, kSubject };
inline constexpr size_t kRevokeKindCount = 4;

// The kind label of tokend_tokens_issued_total.
enum class TokenKind { kAccess, kRefresh };

// Every metric family of tokend in one place, registered on the given registry (which must
// outlive this object). Label values on hot paths (RPC, verify result, refresh outcome,
// issued kind) are created once in the constructor and cached, so recording is a pointer
// dereference and an atomic add: no label-map lookup. Labels never hold a token, a key or a
// secret (a kid is public). Thread-safe: prometheus-cpp metrics are atomic; the few methods that
// add or remove label sets lock `mu_`.
struct Metrics {
  explicit Metrics(prometheus::Registry& registry);
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // --- gRPC server (names and labels as go-grpc-prometheus, so standard dashboards work).
  void RpcStarted(RpcMethod method);
  // `code` is the numeric gRPC / absl status code (they coincide).
  void ObserveRpc(RpcMethod method, int code, double seconds);
  void ObserveRpc(RpcMethod method, absl::StatusCode code, absl::Duration elapsed) {
    ObserveRpc(method, static_cast<int>(code), absl::ToDoubleSeconds(elapsed));
  }

  // --- token service.
  void RecordIssued(TokenKind kind);
  // `result_index` indexes kVerifyResultLabels (core passes static_cast<size_t>(InvalidReason)).
  void RecordVerify(size_t result_index);
  // Counts one refresh under RefreshOutcomeLabel(ended) (and a reuse in its own counter too).
  void RecordRefresh(const absl::StatusOr<storage::RotateOutcome>& ended);
  void RecordRevocation(RevokeKind kind);
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
  prometheus::Family<prometheus::Counter>& grpc_server_started_total;
  prometheus::Family<prometheus::Counter>& grpc_server_handled_total;
  prometheus::Family<prometheus::Histogram>& grpc_server_handling_seconds;
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
  static const prometheus::Histogram::BucketBoundaries& RpcLatencyBuckets();
  static const prometheus::Histogram::BucketBoundaries& PropagationBuckets();

 private:
  std::array<prometheus::Counter*, kRpcMethodCount> started_{};
  std::array<std::array<prometheus::Counter*, kGrpcCodeCount>, kRpcMethodCount> handled_{};
  std::array<prometheus::Histogram*, kRpcMethodCount> handling_{};
  std::array<prometheus::Counter*, 2> issued_{};
  std::array<prometheus::Counter*, kVerifyResultLabels.size()> verify_{};
  std::array<prometheus::Counter*, kRefreshOutcomeLabels.size()> refresh_{};
  prometheus::Counter* reuse_detected_ = nullptr;
  std::array<prometheus::Counter*, kRevokeKindCount> revocations_{};
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

}  // namespace tokend::metrics
