#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "storage/signing_key_record.h"

namespace tokend::storage {

// A compare-and-set rotation: the next key starts signing and the active key retires, in one
// atomic step, only if the store still holds exactly the states the caller saw.
struct KeyRotation {
  std::string retiring_kid;    // the active key; empty: expect that no key is active
  std::string activating_kid;  // the next key
  absl::Time now;              // the promoted key's activates_at, the retiring key's retires_at
  absl::Time remove_after;     // of the retiring key
};

// An emergency removal. If `kid` is the active key, the next key (if any) starts signing at once;
// otherwise `replacement` is inserted as the active key, in the same transaction, so a key
// always signs. `replacement` is ignored when not needed.
struct KeyRemoval {
  std::string kid;
  absl::Time now;
  std::string reason;
  std::optional<SigningKeyRecord> replacement;
};

struct KeyRemovalResult {
  KeyState previous_state = KeyState::kRemoved;  // kRemoved: it was already removed (no change)
  std::string new_active_kid;                    // set when the active key was replaced
};

// Re-encryption of one key under another key-encryption key (KEK rotation).
struct KeyRewrap {
  std::string kid;
  std::string from_kek_id;  // must match the stored kek_id
  std::string encrypted_private_key;
};

// Durable signing keys of the token service, shared by every replica. The private halves are
// stored only as the opaque envelopes the caller sealed. Guarantees: at most one kActive and at
// most one kNext key at any time, whatever replicas do concurrently (inserting a second one is
// ALREADY_EXISTS); Rotate, RemoveKey and RewrapKeys are atomic compare-and-set operations, so two
// replicas racing for the same transition see exactly one succeed (the other gets ABORTED);
// every committed change is announced to every KeyChangeFeed of the same data. Removed keys keep
// their row (public fields only; the encrypted key is erased) for audit.
// Errors: UNAVAILABLE when the store cannot be reached (retry later), ABORTED when the caller's
// view is stale (reload, then decide again), INVALID_ARGUMENT for malformed input, NOT_FOUND for
// an unknown kid. Reads no clock: every time comes from the caller. Thread-safe.
class KeyStore {
 public:
  virtual ~KeyStore() = default;

  // Every key, removed ones included, ordered by created_at then kid.
  virtual absl::StatusOr<std::vector<SigningKeyRecord>> ListKeys() = 0;

  // Inserts a key in state kNext, kActive or kRetired (ValidateNewSigningKey). ALREADY_EXISTS
  // when the kid is taken or when it would be a second kActive / kNext key.
  virtual absl::Status InsertKey(const SigningKeyRecord& record) = 0;

  // Retires `retiring_kid` (retires_at = now, remove_after) and activates `activating_kid`
  // (activates_at = now). ABORTED, with nothing changed, unless `retiring_kid` is the active key
  // (or, when empty, no key is active) and `activating_kid` is the next key.
  virtual absl::Status Rotate(const KeyRotation& rotation) = 0;

  // Moves the next key's activates_at (on-demand rotation). ABORTED unless `kid` is the next key.
  virtual absl::Status RescheduleNext(const std::string& kid, absl::Time activates_at) = 0;

  // Removes every retired key whose remove_after <= now (reason "expired"); returns their kids.
  virtual absl::StatusOr<std::vector<std::string>> RemoveExpired(absl::Time now) = 0;

  // Emergency removal (see KeyRemoval). Idempotent: removing a removed key changes nothing.
  // NOT_FOUND for an unknown kid; FAILED_PRECONDITION when the active key is removed, no next key
  // exists and no replacement was given; INVALID_ARGUMENT for a malformed replacement.
  virtual absl::StatusOr<KeyRemovalResult> RemoveKey(const KeyRemoval& removal) = 0;

  // Replaces the encrypted private key and kek_id of the given keys, all or nothing, and then
  // requires that every key not removed is under `to_kek_id`. ABORTED (nothing changed) if a
  // key is unknown, removed, or not under its `from_kek_id`, or if some other key is left under
  // another KEK (e.g. inserted concurrently).
  virtual absl::Status RewrapKeys(const std::vector<KeyRewrap>& rewraps,
                                  const std::string& to_kek_id) = 0;
};

// Tells a replica that the signing keys changed somewhere, so it reloads them (ListKeys).
// `on_change` is called from the feed's own thread after a change is committed by any replica,
// and after any gap (e.g. a reconnection) in which changes may have been missed. Several changes
// may be reported by one call; callers reload, they do not rely on a payload. Start() once;
// Stop() (or destruction) ends delivery before returning and must not be called from the
// callback. Thread-safe.
class KeyChangeFeed {
 public:
  virtual ~KeyChangeFeed() = default;
  virtual absl::Status Start(std::function<void()> on_change) = 0;
  virtual void Stop() = 0;
};

}  // namespace tokend::storage
