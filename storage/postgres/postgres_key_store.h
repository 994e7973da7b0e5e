#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "storage/key_store.h"
#include "storage/postgres/postgres_options.h"

namespace tokend::storage {

namespace pg {
class Database;
}

// KeyStore on PostgreSQL (table signing_keys, migration V0002) through its own pg::Database
// (database.h) with a small pool (at most 2 connections: key operations are rare). Guarantees: the
// partial unique index signing_keys_one_active_one_next makes a second active or next key
// impossible; Rotate, RemoveKey and RewrapKeys each run in one transaction whose UPDATEs match only
// the states the caller expects, so concurrent replicas serialize on the row locks and exactly one
// succeeds; RewrapKeys also locks the table against concurrent writers; every committed change
// sends NOTIFY tokend_keys from inside its transaction (delivered only on commit). Every writing
// transaction is retried twice on a serialization failure, a deadlock or a compare-and-set that
// found a changed state, then ABORTED. Every call is bounded like
// PostgresTokenStore's. Error messages carry SQLSTATEs and fixed phrases, never key material.
// Does not migrate; Connect() refuses a schema of another version. Thread-safe.
class PostgresKeyStore : public KeyStore {
 public:
  // INVALID_ARGUMENT for bad options, UNAVAILABLE if the database cannot be reached,
  // FAILED_PRECONDITION "schema version N, expected M: run `tokend migrate`" on a mismatch.
  static absl::StatusOr<std::unique_ptr<PostgresKeyStore>> Connect(const PostgresOptions& options);

  PostgresKeyStore(const PostgresKeyStore&) = delete;
  PostgresKeyStore& operator=(const PostgresKeyStore&) = delete;
  ~PostgresKeyStore() override;

  absl::StatusOr<std::vector<SigningKeyRecord>> ListKeys() override;
  absl::Status InsertKey(const SigningKeyRecord& record) override;
  absl::Status Rotate(const KeyRotation& rotation) override;
  absl::Status RescheduleNext(const std::string& kid, absl::Time activates_at) override;
  absl::StatusOr<std::vector<std::string>> RemoveExpired(absl::Time now) override;
  absl::StatusOr<KeyRemovalResult> RemoveKey(const KeyRemoval& removal) override;
  absl::Status RewrapKeys(const std::vector<KeyRewrap>& rewraps,
                          const std::string& to_kek_id) override;

 private:
  explicit PostgresKeyStore(std::unique_ptr<pg::Database> db);

  std::unique_ptr<pg::Database> db_;
};

}  // namespace tokend::storage
