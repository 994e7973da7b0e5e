#include "storage/memory/memory_key_store.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "storage/memory/memory_key_change_feed.h"
#include "storage/validation.h"
#include "util/status_macros.h"

namespace tokend::storage {

SigningKeyRecord* MemoryKeyStore::FindLocked(const std::string& kid) {
  for (SigningKeyRecord& key : keys_) {
    if (key.kid == kid) return &key;
  }
  return nullptr;
}

SigningKeyRecord* MemoryKeyStore::FindStateLocked(KeyState state) {
  for (SigningKeyRecord& key : keys_) {
    if (key.state == state) return &key;
  }
  return nullptr;
}

absl::Status MemoryKeyStore::CheckInsertableLocked(const SigningKeyRecord& record) {
  if (FindLocked(record.kid) != nullptr) {
    return absl::AlreadyExistsError("signing key: kid already exists");
  }
  if ((record.state == KeyState::kActive || record.state == KeyState::kNext) &&
      FindStateLocked(record.state) != nullptr) {
    return absl::AlreadyExistsError(absl::StrCat("signing key: there is already a ",
                                                 std::string(KeyStateName(record.state)), " key"));
  }
  return absl::OkStatus();
}

void MemoryKeyStore::MarkRemoved(SigningKeyRecord& key, absl::Time now, const std::string& reason) {
  key.state = KeyState::kRemoved;
  key.removed_at = now;
  key.removal_reason = reason;
  if (key.retires_at == absl::InfiniteFuture()) key.retires_at = now;
  // Why erase: a removed key must never sign again, and less ciphertext at rest is less to lose.
  key.encrypted_private_key.clear();
}

absl::StatusOr<std::vector<SigningKeyRecord>> MemoryKeyStore::ListKeys() {
  absl::MutexLock lock(&mu_);
  std::vector<SigningKeyRecord> keys = keys_;
  std::stable_sort(keys.begin(), keys.end(), [](const auto& a, const auto& b) {
    return std::tie(a.created_at, a.kid) < std::tie(b.created_at, b.kid);
  });
  return keys;
}

absl::Status MemoryKeyStore::InsertKey(const SigningKeyRecord& record) {
  TOKEND_RETURN_IF_ERROR(ValidateNewSigningKey(record));
  absl::MutexLock lock(&mu_);
  TOKEND_RETURN_IF_ERROR(CheckInsertableLocked(record));
  keys_.push_back(record);
  NotifyLocked();
  return absl::OkStatus();
}

absl::Status MemoryKeyStore::Rotate(const KeyRotation& rotation) {
  absl::MutexLock lock(&mu_);
  SigningKeyRecord* next = FindLocked(rotation.activating_kid);
  if (next == nullptr || next->state != KeyState::kNext) {
    return absl::AbortedError("rotate: the key to activate is no longer the next key");
  }
  SigningKeyRecord* active = FindStateLocked(KeyState::kActive);
  if (rotation.retiring_kid.empty() ? active != nullptr
                                    : (active == nullptr || active->kid != rotation.retiring_kid)) {
    return absl::AbortedError("rotate: the active key changed");
  }
  if (active != nullptr) {
    active->state = KeyState::kRetired;
    active->retires_at = rotation.now;
    active->remove_after = rotation.remove_after;
  }
  next->state = KeyState::kActive;
  next->activates_at = rotation.now;
  NotifyLocked();
  return absl::OkStatus();
}

absl::Status MemoryKeyStore::RescheduleNext(const std::string& kid, absl::Time activates_at) {
  absl::MutexLock lock(&mu_);
  SigningKeyRecord* next = FindLocked(kid);
  if (next == nullptr || next->state != KeyState::kNext) {
    return absl::AbortedError("reschedule: the key is no longer the next key");
  }
  next->activates_at = activates_at;
  NotifyLocked();
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> MemoryKeyStore::RemoveExpired(absl::Time now) {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> removed;
  for (SigningKeyRecord& key : keys_) {
    if (key.state == KeyState::kRetired && key.remove_after <= now) {
      MarkRemoved(key, now, "expired");
      removed.push_back(key.kid);
    }
  }
  if (!removed.empty()) NotifyLocked();
  return removed;
}

absl::StatusOr<KeyRemovalResult> MemoryKeyStore::RemoveKey(const KeyRemoval& removal) {
  if (!IsStorableText(removal.reason)) {
    return absl::InvalidArgumentError("remove: reason is not valid UTF-8 text");
  }
  if (removal.replacement.has_value()) {
    TOKEND_RETURN_IF_ERROR(ValidateNewSigningKey(*removal.replacement));
  }
  absl::MutexLock lock(&mu_);
  SigningKeyRecord* key = FindLocked(removal.kid);
  if (key == nullptr) return absl::NotFoundError("remove: no such signing key");
  KeyRemovalResult result;
  result.previous_state = key->state;
  if (key->state == KeyState::kRemoved) return result;
  if (key->state == KeyState::kActive) {
    SigningKeyRecord* next = FindStateLocked(KeyState::kNext);
    if (next == nullptr && !removal.replacement.has_value()) {
      return absl::FailedPreconditionError(
          "remove: the active key has no successor (no next key and no replacement)");
    }
    if (next == nullptr) {
      SigningKeyRecord replacement = *removal.replacement;
      replacement.state = KeyState::kActive;
      replacement.activates_at = removal.now;
      if (FindLocked(replacement.kid) != nullptr) {
        return absl::AlreadyExistsError("signing key: kid already exists");
      }
      MarkRemoved(*key, removal.now, removal.reason);
      result.new_active_kid = replacement.kid;
      keys_.push_back(std::move(replacement));
    } else {
      MarkRemoved(*key, removal.now, removal.reason);
      next->state = KeyState::kActive;
      next->activates_at = removal.now;
      result.new_active_kid = next->kid;
    }
  } else {
    MarkRemoved(*key, removal.now, removal.reason);
  }
  NotifyLocked();
  return result;
}

absl::Status MemoryKeyStore::RewrapKeys(const std::vector<KeyRewrap>& rewraps,
                                        const std::string& to_kek_id) {
  if (to_kek_id.empty()) return absl::InvalidArgumentError("rewrap: empty kek_id");
  absl::MutexLock lock(&mu_);
  // Check everything first: all or nothing.
  absl::flat_hash_set<std::string> rewrapped;
  for (const KeyRewrap& rewrap : rewraps) {
    if (rewrap.encrypted_private_key.empty()) {
      return absl::InvalidArgumentError("rewrap: empty encrypted private key");
    }
    const SigningKeyRecord* key = FindLocked(rewrap.kid);
    if (key == nullptr || key->state == KeyState::kRemoved || key->kek_id != rewrap.from_kek_id) {
      return absl::AbortedError("rewrap: a key changed since it was read");
    }
    rewrapped.insert(rewrap.kid);
  }
  for (const SigningKeyRecord& key : keys_) {
    if (key.state != KeyState::kRemoved && key.kek_id != to_kek_id &&
        !rewrapped.contains(key.kid)) {
      return absl::AbortedError("rewrap: a key under another KEK was not rewrapped");
    }
  }
  for (const KeyRewrap& rewrap : rewraps) {
    SigningKeyRecord* key = FindLocked(rewrap.kid);
    key->encrypted_private_key = rewrap.encrypted_private_key;
    key->kek_id = to_kek_id;
  }
  if (!rewraps.empty()) NotifyLocked();
  return absl::OkStatus();
}

std::unique_ptr<MemoryKeyChangeFeed> MemoryKeyStore::NewFeed() {
  return std::make_unique<MemoryKeyChangeFeed>(*this);
}

void MemoryKeyStore::Subscribe(MemoryKeyChangeFeed* feed) {
  absl::MutexLock lock(&mu_);
  feeds_.push_back(feed);
}

void MemoryKeyStore::Unsubscribe(MemoryKeyChangeFeed* feed) {
  absl::MutexLock lock(&mu_);
  feeds_.erase(std::remove(feeds_.begin(), feeds_.end(), feed), feeds_.end());
}

void MemoryKeyStore::NotifyLocked() {
  for (MemoryKeyChangeFeed* feed : feeds_) feed->Signal();
}

}  // namespace tokend::storage
