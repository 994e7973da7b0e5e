#include "services/tokend/core/denylist.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace tokend::core {

using storage::Revocation;

Denylist::Denylist(FreshnessPolicy policy) : policy_(policy) {}

void Denylist::SetFreshnessPolicy(FreshnessPolicy policy) {
  absl::MutexLock lock(&mu_);
  policy_ = policy;
}

FreshnessPolicy Denylist::freshness_policy() const {
  absl::ReaderMutexLock lock(&mu_);
  return policy_;
}

Denylist::ReloadMark Denylist::BeginReload() {
  absl::MutexLock lock(&mu_);
  return ReloadMark{next_sequence_};
}

void Denylist::ApplyLocked(const Revocation& revocation) {
  if (revocation.key.empty()) return;  // an empty key would match nothing; never store it
  switch (revocation.kind) {
    case Revocation::Kind::kTokenId: {
      auto [it, inserted] = token_ids_.try_emplace(revocation.key, revocation.expires_at);
      if (!inserted) it->second = std::max(it->second, revocation.expires_at);
      break;
    }
    case Revocation::Kind::kFamily: {
      auto [it, inserted] = families_.try_emplace(revocation.key, revocation.expires_at);
      if (!inserted) it->second = std::max(it->second, revocation.expires_at);
      break;
    }
    case Revocation::Kind::kSubject: {
      auto [it, inserted] = subjects_.try_emplace(
          revocation.key, SubjectEntry{revocation.not_before, revocation.expires_at});
      if (!inserted) {
        it->second.not_before = std::max(it->second.not_before, revocation.not_before);
        it->second.expires_at = std::max(it->second.expires_at, revocation.expires_at);
      }
      break;
    }
  }
}

void Denylist::ReplaceAll(const std::vector<Revocation>& list, absl::Time synced_at,
                          ReloadMark mark) {
  absl::MutexLock lock(&mu_);
  token_ids_.clear();
  families_.clear();
  subjects_.clear();
  for (const Revocation& revocation : list) {
    if (revocation.expires_at > synced_at) ApplyLocked(revocation);
  }
  // Events applied after the reload began may be missing from `list` (read before they were
  // committed): keep them, and forget older ones, which `list` now covers.
  std::erase_if(recent_, [&](const auto& entry) { return entry.first < mark.sequence; });
  for (const auto& [sequence, revocation] : recent_) {
    if (revocation.expires_at > synced_at) ApplyLocked(revocation);
  }
  last_sync_ = std::max(last_sync_, synced_at);
}

void Denylist::Apply(const Revocation& revocation) {
  absl::MutexLock lock(&mu_);
  ApplyLocked(revocation);
  recent_.emplace_back(next_sequence_++, revocation);
}

size_t Denylist::Prune(absl::Time now) {
  absl::MutexLock lock(&mu_);
  size_t dropped = 0;
  dropped += absl::erase_if(token_ids_, [&](const auto& e) { return e.second <= now; });
  dropped += absl::erase_if(families_, [&](const auto& e) { return e.second <= now; });
  dropped += absl::erase_if(subjects_, [&](const auto& e) { return e.second.expires_at <= now; });
  std::erase_if(recent_, [&](const auto& e) { return e.second.expires_at <= now; });
  return dropped;
}

bool Denylist::IsRevoked(std::string_view jti, std::string_view session_id,
                         std::string_view subject, absl::Time issued_at) const {
  absl::ReaderMutexLock lock(&mu_);
  // Presence alone decides (an entry not yet pruned past its expiry still denies): fail safe.
  // Debian's Abseil has its own string_view type: convert for heterogeneous lookup.
  if (!jti.empty() && token_ids_.contains(absl::string_view(jti.data(), jti.size()))) return true;
  if (!session_id.empty() &&
      families_.contains(absl::string_view(session_id.data(), session_id.size()))) {
    return true;
  }
  if (!subjects_.empty()) {
    auto it = subjects_.find(absl::string_view(subject.data(), subject.size()));
    // iat is whole seconds, so a token minted in the same second as the revocation is covered
    // too: erring towards revoked is the safe side.
    if (it != subjects_.end() && issued_at < it->second.not_before) return true;
  }
  return false;
}

absl::Time Denylist::last_sync() const {
  absl::ReaderMutexLock lock(&mu_);
  return last_sync_;
}

bool Denylist::IsFresh(absl::Time now) const {
  absl::ReaderMutexLock lock(&mu_);
  return last_sync_ != absl::InfinitePast() && now - last_sync_ <= policy_.max_staleness;
}

bool Denylist::IsUsable(absl::Time now) const {
  absl::ReaderMutexLock lock(&mu_);
  if (last_sync_ == absl::InfinitePast()) return false;
  return policy_.fail_mode == FailMode::kOpen || now - last_sync_ <= policy_.max_staleness;
}

Denylist::Sizes Denylist::sizes() const {
  absl::ReaderMutexLock lock(&mu_);
  return Sizes{token_ids_.size(), families_.size(), subjects_.size()};
}

absl::Status Denylist::Readiness(absl::Time now) const {
  if (IsUsable(now)) return absl::OkStatus();
  const absl::Time last = last_sync();
  if (last == absl::InfinitePast()) return absl::UnavailableError("never loaded");
  return absl::UnavailableError(absl::StrCat(
      "stale: last sync ", absl::FormatDuration(absl::Trunc(now - last, absl::Seconds(1))),
      " ago (max ", absl::FormatDuration(freshness_policy().max_staleness), ")"));
}

}  // namespace tokend::core
