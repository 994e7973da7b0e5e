#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "storage/refresh_token.h"
#include "storage/revocation.h"
#include "storage/token_store.h"

namespace tokend::storage {

class MemoryRevocationFeed;

// A TokenStore in process memory: the embedded default for a single replica, and the reference
// the conformance suite holds PostgresTokenStore to. Every operation is atomic under one
// absl::Mutex, so concurrent rotations of one parent serialize exactly as in PostgreSQL.
// Guarantees the same outcomes as PostgresTokenStore (both use DecideRotation and the checks
// of storage/validation.h). Not durable: everything is lost with the process. Never fails with
// UNAVAILABLE or ABORTED. Reads no clock: every time comes from the caller. Thread-safe.
class MemoryTokenStore : public TokenStore {
 public:
  MemoryTokenStore() = default;
  MemoryTokenStore(const MemoryTokenStore&) = delete;
  MemoryTokenStore& operator=(const MemoryTokenStore&) = delete;
  // Every feed created by NewFeed() must be destroyed (or stopped) before the store.
  ~MemoryTokenStore() override = default;

  absl::Status InsertRefreshToken(const RefreshTokenRecord& record) override;
  absl::StatusOr<std::optional<RefreshTokenRecord>> FindRefreshToken(
      const std::string& token_hash) override;
  absl::StatusOr<RotateResult> RotateRefreshToken(const RotateRequest& request) override;
  absl::Status AddRevocation(const Revocation& revocation) override;
  absl::StatusOr<std::vector<Revocation>> ListLiveRevocations(absl::Time now) override;
  absl::StatusOr<int64_t> PruneExpired(absl::Time now, int batch) override;
  absl::Status Ping() override;

  // A feed of every revocation this store commits after the feed's Start() (including the
  // kFamily revocations of reuse detection). The store must outlive the feed.
  std::unique_ptr<MemoryRevocationFeed> NewFeed();

 private:
  friend class MemoryRevocationFeed;

  struct Family {
    std::string subject;
    absl::Time expires_at;
    bool revoked = false;
    int64_t token_count = 0;
  };
  using RevocationKey = std::pair<Revocation::Kind, std::string>;

  // Feeds register while started; the store hands them committed revocations under mu_.
  void Subscribe(MemoryRevocationFeed* feed) ABSL_LOCKS_EXCLUDED(mu_);
  void Unsubscribe(MemoryRevocationFeed* feed) ABSL_LOCKS_EXCLUDED(mu_);

  RefreshTokenRecord WithFamilyState(const RefreshTokenRecord& record) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void InsertLocked(const RefreshTokenRecord& record) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Upserts (later not_before / expires_at win) and publishes the stored entry.
  void UpsertRevocationLocked(const Revocation& revocation) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, RefreshTokenRecord> tokens_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Family> families_ ABSL_GUARDED_BY(mu_);
  std::map<RevocationKey, Revocation> revocations_ ABSL_GUARDED_BY(mu_);
  std::vector<MemoryRevocationFeed*> feeds_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tokend::storage
