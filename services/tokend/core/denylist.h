#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "storage/revocation.h"

namespace tokend::core {

// What Verify does when the denylist has not been synced for longer than max_staleness.
enum class FailMode {
  kClosed,  // answer UNAVAILABLE: a revoked token must never pass (the default)
  kOpen,    // answer from the last known list: availability over prompt revocation
};

struct FreshnessPolicy {
  absl::Duration max_staleness = absl::Seconds(60);
  FailMode fail_mode = FailMode::kClosed;
};

// The in-memory revocation denylist one replica consults on every Verify: revoked jtis,
// revoked refresh families (the sid claim), and subjects with a not-before time. Each entry
// carries its expiry and is pruned after it (no token it covers can still be valid then).
//
// Guarantees: an entry, once applied, covers its tokens until pruned; ReplaceAll keeps entries
// applied after the matching BeginReload(), so a feed event racing a full reload is not lost.
// Merging is monotone: for the same kind and key the later not_before and expires_at win.
// Does not check: signatures or any other claim; callers look up verified tokens only.
// Thread-safe: readers (Verify) take a shared lock, writers an exclusive one.
class Denylist {
 public:
  explicit Denylist(FreshnessPolicy policy = {});
  Denylist(const Denylist&) = delete;
  Denylist& operator=(const Denylist&) = delete;

  // Set by DenylistSyncer from its Options; read by IsUsable.
  void SetFreshnessPolicy(FreshnessPolicy policy);
  FreshnessPolicy freshness_policy() const;

  // A marker to pass to ReplaceAll: every Apply after it survives that ReplaceAll.
  struct ReloadMark {
    uint64_t sequence = UINT64_MAX;  // default: keep nothing applied before the reload
  };
  ReloadMark BeginReload();

  // Replaces the whole list with `list` (entries already expired at `synced_at` are dropped)
  // plus every entry applied since `mark`, and records `synced_at` as the last sync.
  void ReplaceAll(const std::vector<storage::Revocation>& list, absl::Time synced_at,
                  ReloadMark mark);
  // As above with a mark that keeps nothing: for callers without a racing feed (tests).
  void ReplaceAll(const std::vector<storage::Revocation>& list, absl::Time synced_at) {
    ReplaceAll(list, synced_at, ReloadMark{});
  }
  // Adds one entry (from the feed, or a revocation made by this replica). Idempotent.
  void Apply(const storage::Revocation& revocation);
  // Drops every entry with expires_at <= now; returns how many were dropped.
  size_t Prune(absl::Time now);

  // True if the token is covered: its jti or its family (sid) is listed, or its subject has a
  // not-before later than `issued_at` (iat; InfinitePast when absent, which is always covered).
  // Empty jti / sid never match.
  bool IsRevoked(std::string_view jti, std::string_view session_id, std::string_view subject,
                 absl::Time issued_at) const;

  // Last successful full reload (InfinitePast until the first one).
  absl::Time last_sync() const;
  // Synced at least once and within max_staleness of `now`.
  bool IsFresh(absl::Time now) const;
  // Whether Verify may answer from this list: fresh, or synced once and the policy fails open.
  // A list that was never loaded is never usable: fail-open tolerates staleness, not absence.
  bool IsUsable(absl::Time now) const;
  // The readiness rule of the denylist: OK while usable, else UNAVAILABLE saying why ("never
  // loaded", or how stale it is against the limit).
  absl::Status Readiness(absl::Time now) const;

  struct Sizes {
    size_t token_ids = 0;
    size_t families = 0;
    size_t subjects = 0;
  };
  Sizes sizes() const;

 private:
  struct SubjectEntry {
    absl::Time not_before;
    absl::Time expires_at;
  };
  void ApplyLocked(const storage::Revocation& revocation) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  FreshnessPolicy policy_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, absl::Time> token_ids_ ABSL_GUARDED_BY(mu_);  // -> expires_at
  absl::flat_hash_map<std::string, absl::Time> families_ ABSL_GUARDED_BY(mu_);   // -> expires_at
  absl::flat_hash_map<std::string, SubjectEntry> subjects_ ABSL_GUARDED_BY(mu_);
  absl::Time last_sync_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  // Entries applied since the oldest outstanding reload mark, re-applied by ReplaceAll.
  uint64_t next_sequence_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::pair<uint64_t, storage::Revocation>> recent_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tokend::core
