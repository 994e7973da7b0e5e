#include "services/tokend/auth/rate_limiter.h"

#include <algorithm>
#include <string>
#include <vector>

#include "services/tokend/auth/absl_view.h"

namespace tokend::auth {

RateLimiter::RateLimiter(const util::Clock& clock, size_t max_callers)
    : clock_(clock), max_callers_(std::max<size_t>(1, max_callers)) {}

void RateLimiter::Refill(Bucket& bucket, absl::Time now) {
  if (now > bucket.updated) {
    const double elapsed = absl::ToDoubleSeconds(now - bucket.updated);
    bucket.tokens = std::min(bucket.limit.burst, bucket.tokens + elapsed * bucket.limit.per_second);
    bucket.updated = now;
  }
}

void RateLimiter::DropIdleLocked(absl::Time now) {
  std::vector<std::string> idle;
  for (auto& [caller, bucket] : buckets_) {
    Refill(bucket, now);
    if (bucket.tokens >= bucket.limit.burst) idle.push_back(caller);
  }
  for (const std::string& caller : idle) buckets_.erase(caller);
}

bool RateLimiter::TryAcquire(std::string_view caller, const RateLimit& limit) {
  if (limit.per_second <= 0 || limit.burst < 1) return false;  // a zero rate admits nothing
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&mu_);
  auto it = buckets_.find(ToAbsl(caller));
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_callers_) DropIdleLocked(now);
    Bucket fresh;
    fresh.tokens = limit.burst;
    fresh.updated = now;
    fresh.limit = limit;
    it = buckets_.emplace(std::string(caller), fresh).first;
  }
  Bucket& bucket = it->second;
  Refill(bucket, now);
  if (!(bucket.limit == limit)) {
    // A reloaded policy: keep what is left, within the new burst.
    bucket.limit = limit;
    bucket.tokens = std::min(bucket.tokens, limit.burst);
  }
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

size_t RateLimiter::tracked_callers() const {
  absl::MutexLock lock(&mu_);
  return buckets_.size();
}

}  // namespace tokend::auth
