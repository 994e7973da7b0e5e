#include "storage/memory/memory_token_store.h"

#include <algorithm>
#include <utility>

#include "storage/memory/memory_revocation_feed.h"
#include "storage/rotation_decision.h"
#include "storage/validation.h"
#include "util/status_macros.h"

namespace tokend::storage {

RefreshTokenRecord MemoryTokenStore::WithFamilyState(const RefreshTokenRecord& record) const {
  RefreshTokenRecord copy = record;
  const auto family = families_.find(record.family_id);
  copy.family_revoked = family != families_.end() && family->second.revoked;
  return copy;
}

void MemoryTokenStore::InsertLocked(const RefreshTokenRecord& record) {
  RefreshTokenRecord stored = record;
  stored.family_revoked = false;  // derived from the family on every read
  auto [family, inserted] = families_.try_emplace(record.family_id);
  if (inserted) {
    family->second.subject = record.subject;
    family->second.expires_at = record.family_expires_at;
  }
  ++family->second.token_count;
  tokens_.emplace(record.token_hash, std::move(stored));
}

absl::Status MemoryTokenStore::InsertRefreshToken(const RefreshTokenRecord& record) {
  TOKEND_RETURN_IF_ERROR(ValidateNewRefreshToken(record));
  absl::MutexLock lock(&mu_);
  if (tokens_.contains(record.token_hash)) {
    return absl::AlreadyExistsError("refresh token hash already stored");
  }
  InsertLocked(record);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<RefreshTokenRecord>> MemoryTokenStore::FindRefreshToken(
    const std::string& token_hash) {
  absl::MutexLock lock(&mu_);
  const auto it = tokens_.find(token_hash);
  if (it == tokens_.end()) return std::optional<RefreshTokenRecord>();
  return std::optional<RefreshTokenRecord>(WithFamilyState(it->second));
}

absl::StatusOr<RotateResult> MemoryTokenStore::RotateRefreshToken(const RotateRequest& request) {
  TOKEND_RETURN_IF_ERROR(ValidateRotateRequest(request));
  absl::MutexLock lock(&mu_);
  const auto it = tokens_.find(request.parent_hash);
  if (it == tokens_.end())
    return RotateResult{RotateOutcome::kNotFound, std::nullopt, std::nullopt};
  RefreshTokenRecord parent = WithFamilyState(it->second);
  const RotateOutcome outcome = DecideRotation(parent, request);
  std::optional<RefreshTokenRecord> child;
  switch (outcome) {
    case RotateOutcome::kRotated:
      if (tokens_.contains(request.child.token_hash)) {
        return absl::AlreadyExistsError("refresh token hash already stored");
      }
      child = ChildOf(parent, request.child, request.now);
      it->second.spent_at = request.now;
      it->second.child_hash = request.child.token_hash;
      InsertLocked(*child);
      break;
    case RotateOutcome::kGraceRetry:
      child = ChildOf(parent, request.child, *parent.spent_at);
      break;
    case RotateOutcome::kReuseDetected: {
      Family& family = families_[parent.family_id];
      if (!family.revoked) {  // a family is revoked (and announced) once
        family.revoked = true;
        UpsertRevocationLocked(FamilyRevocation(parent, request.now, request.access_token_margin,
                                                request.reuse_reason));
      }
      break;
    }
    case RotateOutcome::kNotFound:
    case RotateOutcome::kExpired:
    case RotateOutcome::kRevoked:
    case RotateOutcome::kClientMismatch:
    case RotateOutcome::kScopeNotGranted:
      break;
  }
  return RotateResult{outcome, std::move(parent), std::move(child)};
}

void MemoryTokenStore::UpsertRevocationLocked(const Revocation& revocation) {
  auto [it, inserted] =
      revocations_.try_emplace(RevocationKey(revocation.kind, revocation.key), revocation);
  if (!inserted) {
    // Later times win; the first revoked_at and reason stay, as the record of the event.
    it->second.not_before = std::max(it->second.not_before, revocation.not_before);
    it->second.expires_at = std::max(it->second.expires_at, revocation.expires_at);
  }
  for (MemoryRevocationFeed* feed : feeds_) feed->Enqueue(it->second);
}

absl::Status MemoryTokenStore::AddRevocation(const Revocation& revocation) {
  TOKEND_RETURN_IF_ERROR(ValidateRevocation(revocation));
  absl::MutexLock lock(&mu_);
  switch (revocation.kind) {
    case Revocation::Kind::kFamily:
      if (auto family = families_.find(revocation.key); family != families_.end()) {
        family->second.revoked = true;
      }
      break;
    case Revocation::Kind::kSubject:
      for (auto& [id, family] : families_) {
        if (family.subject == revocation.key) family.revoked = true;
      }
      break;
    case Revocation::Kind::kTokenId:
      break;
  }
  UpsertRevocationLocked(revocation);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Revocation>> MemoryTokenStore::ListLiveRevocations(absl::Time now) {
  absl::MutexLock lock(&mu_);
  std::vector<Revocation> live;
  for (const auto& [key, revocation] : revocations_) {
    if (revocation.expires_at > now) live.push_back(revocation);
  }
  return live;
}

absl::StatusOr<int64_t> MemoryTokenStore::PruneExpired(absl::Time now, int batch) {
  if (batch <= 0) return absl::InvalidArgumentError("batch must be positive");
  absl::MutexLock lock(&mu_);
  int64_t deleted = 0;
  int budget = batch;
  for (auto it = revocations_.begin(); it != revocations_.end() && budget > 0;) {
    if (it->second.expires_at <= now) {
      it = revocations_.erase(it);
      --budget;
      ++deleted;
    } else {
      ++it;
    }
  }
  budget = batch;
  for (auto it = tokens_.begin(); it != tokens_.end() && budget > 0;) {
    if (it->second.family_expires_at <= now) {
      --families_[it->second.family_id].token_count;
      tokens_.erase(it++);
      --budget;
      ++deleted;
    } else {
      ++it;
    }
  }
  budget = batch;
  for (auto it = families_.begin(); it != families_.end() && budget > 0;) {
    if (it->second.expires_at <= now && it->second.token_count <= 0) {
      families_.erase(it++);
      --budget;
      ++deleted;
    } else {
      ++it;
    }
  }
  return deleted;
}

absl::Status MemoryTokenStore::Ping() { return absl::OkStatus(); }

std::unique_ptr<MemoryRevocationFeed> MemoryTokenStore::NewFeed() {
  return std::make_unique<MemoryRevocationFeed>(*this);
}

void MemoryTokenStore::Subscribe(MemoryRevocationFeed* feed) {
  absl::MutexLock lock(&mu_);
  feeds_.push_back(feed);
}

void MemoryTokenStore::Unsubscribe(MemoryRevocationFeed* feed) {
  absl::MutexLock lock(&mu_);
  feeds_.erase(std::remove(feeds_.begin(), feeds_.end(), feed), feeds_.end());
}

}  // namespace tokend::storage
