#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "storage/key_store.h"
#include "storage/signing_key_record.h"

namespace tokend::storage {

class MemoryKeyChangeFeed;

// A KeyStore in process memory: the embedded default for a single replica, and the reference the
// key-store conformance suite holds PostgresKeyStore to. Every operation is atomic under one
// absl::Mutex. Same outcomes as PostgresKeyStore; never UNAVAILABLE. Not durable: with the
// process, the keys are lost (tokens they signed stop verifying after a restart). Reads no
// clock. Thread-safe.
class MemoryKeyStore : public KeyStore {
 public:
  MemoryKeyStore() = default;
  MemoryKeyStore(const MemoryKeyStore&) = delete;
  MemoryKeyStore& operator=(const MemoryKeyStore&) = delete;
  // Every feed created by NewFeed() must be destroyed (or stopped) before the store.
  ~MemoryKeyStore() override = default;

  absl::StatusOr<std::vector<SigningKeyRecord>> ListKeys() override;
  absl::Status InsertKey(const SigningKeyRecord& record) override;
  absl::Status Rotate(const KeyRotation& rotation) override;
  absl::Status RescheduleNext(const std::string& kid, absl::Time activates_at) override;
  absl::StatusOr<std::vector<std::string>> RemoveExpired(absl::Time now) override;
  absl::StatusOr<KeyRemovalResult> RemoveKey(const KeyRemoval& removal) override;
  absl::Status RewrapKeys(const std::vector<KeyRewrap>& rewraps,
                          const std::string& to_kek_id) override;

  // A feed of the changes this store commits after the feed's Start().
  std::unique_ptr<MemoryKeyChangeFeed> NewFeed();

 private:
  friend class MemoryKeyChangeFeed;

  void Subscribe(MemoryKeyChangeFeed* feed) ABSL_LOCKS_EXCLUDED(mu_);
  void Unsubscribe(MemoryKeyChangeFeed* feed) ABSL_LOCKS_EXCLUDED(mu_);
  // Tells every started feed (they deliver from their own threads).
  void NotifyLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  SigningKeyRecord* FindLocked(const std::string& kid) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  SigningKeyRecord* FindStateLocked(KeyState state) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // ALREADY_EXISTS when the kid is taken or the record would be a second active / next key.
  absl::Status CheckInsertableLocked(const SigningKeyRecord& record)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static void MarkRemoved(SigningKeyRecord& key, absl::Time now, const std::string& reason);

  mutable absl::Mutex mu_;
  std::vector<SigningKeyRecord> keys_ ABSL_GUARDED_BY(mu_);  // in insertion order
  std::vector<MemoryKeyChangeFeed*> feeds_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tokend::storage
