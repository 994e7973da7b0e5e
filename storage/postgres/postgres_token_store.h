#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "storage/postgres/pool_stats.h"
#include "storage/postgres/postgres_options.h"
#include "storage/token_store.h"

namespace tokend::storage {

namespace pg {
class Database;
}

// TokenStore on PostgreSQL through a pg::Database (database.h: a fixed pool of libpqxx
// connections, the error mapping, the bounds and the transaction retry).
// Guarantees: every call is bounded (acquire_timeout + connect_timeout + statement_timeout per
// statement) and ends in UNAVAILABLE rather than hanging when the database is unreachable; the
// store recovers by itself once it is back. RotateRefreshToken runs in one transaction that
// locks the parent and its family (SELECT ... FOR UPDATE), so concurrent rotations serialize
// across replicas; every writing transaction is retried twice on a serialization failure or
// deadlock before ABORTED; AddRevocation and reuse detection NOTIFY tokend_revocations in the
// revoking transaction, so listeners hear only committed revocations. Outcomes follow
// DecideRotation (storage/rotation_decision.h), as in MemoryTokenStore. Reads no clock. Times are
// stored with microsecond precision. Error messages carry SQLSTATEs, never token data or the DSN.
// Does not migrate the schema (see migrations.h); Connect() refuses a schema of another
// version. Thread-safe.
class PostgresTokenStore : public TokenStore {
 public:
  // Validates options, opens one connection and checks the schema version:
  // INVALID_ARGUMENT for bad options, UNAVAILABLE if the database cannot be reached,
  // FAILED_PRECONDITION "schema version N, expected M: run `tokend migrate`" on a mismatch.
  static absl::StatusOr<std::unique_ptr<PostgresTokenStore>> Connect(
      const PostgresOptions& options);

  PostgresTokenStore(const PostgresTokenStore&) = delete;
  PostgresTokenStore& operator=(const PostgresTokenStore&) = delete;
  ~PostgresTokenStore() override;

  absl::Status InsertRefreshToken(const RefreshTokenRecord& record) override;
  absl::StatusOr<std::optional<RefreshTokenRecord>> FindRefreshToken(
      const std::string& token_hash) override;
  absl::StatusOr<RotateResult> RotateRefreshToken(const RotateRequest& request) override;
  // Also INVALID_ARGUMENT when the notification payload would exceed 7000 bytes.
  absl::Status AddRevocation(const Revocation& revocation) override;
  absl::StatusOr<std::vector<Revocation>> ListLiveRevocations(absl::Time now) override;
  absl::StatusOr<int64_t> PruneExpired(absl::Time now, int batch) override;
  absl::Status Ping() override;

  // For metrics.
  PostgresPoolStats pool_stats() const;

 private:
  explicit PostgresTokenStore(std::unique_ptr<pg::Database> db);

  std::unique_ptr<pg::Database> db_;
};

}  // namespace tokend::storage
