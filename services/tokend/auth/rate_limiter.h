#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/tokend/auth/policy.h"
#include "util/clock.h"

namespace tokend::auth {

// Per-caller token buckets: a caller may make `burst` calls at once and `per_second` calls
// per second on average; the limit comes with each call (from the policy snapshot in force),
// so a policy reload changes a caller's rate at its next call without losing its state.
// Buckets are keyed by caller identity. To bound memory, when more than `max_callers` buckets
// exist, full (idle) buckets are dropped — a dropped bucket is indistinguishable from a new
// one, so this never grants more than the limit. Time comes from the injected Clock; a clock
// that steps back refills nothing. Thread-safe (one mutex; a call is O(1), plus a sweep of every
// bucket when a new caller arrives while max_callers are tracked).
class RateLimiter {
 public:
  explicit RateLimiter(const util::Clock& clock, size_t max_callers = 100000);
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // Takes one token from `caller`'s bucket: true if the call may proceed.
  bool TryAcquire(std::string_view caller, const RateLimit& limit);

  size_t tracked_callers() const;

 private:
  struct Bucket {
    double tokens = 0;
    absl::Time updated;
    RateLimit limit;
  };
  // Refills `bucket` up to `now` under its current limit.
  static void Refill(Bucket& bucket, absl::Time now);
  void DropIdleLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const util::Clock& clock_;
  const size_t max_callers_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tokend::auth
