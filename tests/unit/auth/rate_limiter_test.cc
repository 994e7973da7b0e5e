#include "services/tokend/auth/rate_limiter.h"

#include <string>

#include "gtest/gtest.h"
#include "tests/testing/fake_clock.h"

namespace tokend::auth {
namespace {

RateLimit Limit(double per_second, double burst) {
  RateLimit limit;
  limit.per_second = per_second;
  limit.burst = burst;
  return limit;
}

TEST(RateLimiterTest, AllowsTheBurstThenRefillsAtTheRate) {
  testing::FakeClock clock;
  RateLimiter limiter(clock);
  const RateLimit limit = Limit(/*per_second=*/2, /*burst=*/3);
  EXPECT_TRUE(limiter.TryAcquire("a", limit));
  EXPECT_TRUE(limiter.TryAcquire("a", limit));
  EXPECT_TRUE(limiter.TryAcquire("a", limit));
  EXPECT_FALSE(limiter.TryAcquire("a", limit));
  clock.Advance(absl::Milliseconds(499));
  EXPECT_FALSE(limiter.TryAcquire("a", limit));  // 0.998 tokens
  clock.Advance(absl::Milliseconds(1));
  EXPECT_TRUE(limiter.TryAcquire("a", limit));
  EXPECT_FALSE(limiter.TryAcquire("a", limit));
  clock.Advance(absl::Hours(1));  // refills to the burst, not beyond
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.TryAcquire("a", limit));
  EXPECT_FALSE(limiter.TryAcquire("a", limit));
}

TEST(RateLimiterTest, EachCallerHasItsOwnBucket) {
  testing::FakeClock clock;
  RateLimiter limiter(clock);
  const RateLimit limit = Limit(1, 1);
  EXPECT_TRUE(limiter.TryAcquire("a", limit));
  EXPECT_FALSE(limiter.TryAcquire("a", limit));
  EXPECT_TRUE(limiter.TryAcquire("b", limit));
  EXPECT_EQ(limiter.tracked_callers(), 2u);
}

TEST(RateLimiterTest, ANewLimitAppliesAtTheNextCallWithoutAFreshBurst) {
  testing::FakeClock clock;
  RateLimiter limiter(clock);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(limiter.TryAcquire("a", Limit(10, 10)));
  // Reloaded to a bigger burst: what was spent stays spent.
  EXPECT_FALSE(limiter.TryAcquire("a", Limit(100, 100)));
  clock.Advance(absl::Milliseconds(10));
  EXPECT_TRUE(limiter.TryAcquire("a", Limit(100, 100)));
  // Reloaded to a smaller burst: tokens are capped at once.
  clock.Advance(absl::Seconds(10));
  EXPECT_TRUE(limiter.TryAcquire("a", Limit(1, 1)));
  EXPECT_FALSE(limiter.TryAcquire("a", Limit(1, 1)));
}

TEST(RateLimiterTest, AClockSteppingBackRefillsNothing) {
  testing::FakeClock clock;
  RateLimiter limiter(clock);
  const RateLimit limit = Limit(1, 1);
  EXPECT_TRUE(limiter.TryAcquire("a", limit));
  clock.Advance(-absl::Hours(1));
  EXPECT_FALSE(limiter.TryAcquire("a", limit));
}

TEST(RateLimiterTest, AZeroLimitAdmitsNothing) {
  testing::FakeClock clock;
  RateLimiter limiter(clock);
  EXPECT_FALSE(limiter.TryAcquire("a", Limit(0, 5)));
  EXPECT_FALSE(limiter.TryAcquire("a", Limit(5, 0)));
}

TEST(RateLimiterTest, IdleBucketsAreDroppedBeyondTheCapButActiveOnesKeepTheirDebt) {
  testing::FakeClock clock;
  RateLimiter limiter(clock, /*max_callers=*/2);
  const RateLimit limit = Limit(1, 1);
  EXPECT_TRUE(limiter.TryAcquire("a", limit));
  EXPECT_TRUE(limiter.TryAcquire("b", limit));
  EXPECT_TRUE(limiter.TryAcquire("c", limit));  // nothing idle to drop: tracked anyway
  EXPECT_EQ(limiter.tracked_callers(), 3u);
  EXPECT_FALSE(limiter.TryAcquire("a", limit));  // still in debt
  clock.Advance(absl::Seconds(5));               // every bucket refills: all idle
  EXPECT_TRUE(limiter.TryAcquire("d", limit));
  EXPECT_EQ(limiter.tracked_callers(), 1u);
}

}  // namespace
}  // namespace tokend::auth
