#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "storage/refresh_token.h"
#include "storage/revocation.h"

namespace tokend::storage {

// Durable state of the token service: refresh tokens (as hashes) and the revocation denylist.
// Implementations are thread-safe. Errors: UNAVAILABLE when the store cannot be reached or a
// deadline passed (the call may be retried), ABORTED for a serialization conflict,
// ALREADY_EXISTS for a duplicate hash, INTERNAL otherwise. Never blocks longer than the
// implementation's configured deadline.
class TokenStore {
 public:
  virtual ~TokenStore() = default;

  // Stores the first token of a new family.
  virtual absl::Status InsertRefreshToken(const RefreshTokenRecord& record) = 0;

  // The record for a hash, or nullopt.
  virtual absl::StatusOr<std::optional<RefreshTokenRecord>> FindRefreshToken(
      const std::string& token_hash) = 0;

  // Exchanges a parent for a child, deciding and writing atomically in one call: the parent is
  // looked up and locked, then DecideRotation (storage/rotation_decision.h) picks the outcome
  // and its writes happen under the same lock. Concurrent calls for the same parent are
  // serialized: with reuse_grace == 0 exactly one gets kRotated. kGraceRetry requires that the
  // stored child hash equals request.child.token_hash. kReuseDetected marks the family revoked
  // and durably adds its FamilyRevocation. kClientMismatch and kScopeNotGranted change nothing:
  // the token stays unspent and its family unrevoked.
  virtual absl::StatusOr<RotateResult> RotateRefreshToken(const RotateRequest& request) = 0;

  // Durably adds a denylist entry (idempotent for the same kind and key: the later
  // not_before / expires_at wins). For kFamily it also marks the family's refresh tokens
  // revoked; for kSubject, every family of that subject. Listeners are notified after commit.
  virtual absl::Status AddRevocation(const Revocation& revocation) = 0;

  // Every entry with expires_at > now: the full denylist a replica needs.
  virtual absl::StatusOr<std::vector<Revocation>> ListLiveRevocations(absl::Time now) = 0;

  // Deletes expired revocations and refresh tokens whose family has expired, at most `batch`
  // rows per table; returns the number deleted.
  virtual absl::StatusOr<int64_t> PruneExpired(absl::Time now, int batch) = 0;

  // Cheap liveness check of the backing store.
  virtual absl::Status Ping() = 0;
};

// Pushes new revocations to a replica as soon as any replica commits them.
// Implementations call `on_revocation` from their own thread; a gap (e.g. reconnect) is
// reported with `on_gap`, after which the caller should reload the full list.
class RevocationFeed {
 public:
  virtual ~RevocationFeed() = default;
  struct Callbacks {
    std::function<void(const Revocation&)> on_revocation;
    std::function<void()> on_gap;
  };
  // Starts delivering; call once. Stop() (or destruction) ends delivery before returning.
  virtual absl::Status Start(Callbacks callbacks) = 0;
  virtual void Stop() = 0;
};

}  // namespace tokend::storage
