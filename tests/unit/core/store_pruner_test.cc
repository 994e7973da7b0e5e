#include "services/tokend/core/store_pruner.h"

#include <memory>
#include <string>
#include <utility>

#include "gtest/gtest.h"
#include "storage/memory/memory_token_store.h"
#include "storage/revocation.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/manual_waiter.h"

namespace tokend::core {
namespace {

storage::Revocation JtiRevocation(const std::string& jti, absl::Time expires_at) {
  storage::Revocation revocation;
  revocation.kind = storage::Revocation::Kind::kTokenId;
  revocation.key = jti;
  revocation.expires_at = expires_at;
  revocation.revoked_at = expires_at - absl::Minutes(15);
  return revocation;
}

TEST(StorePrunerTest, DeletesOnlyExpiredRowsAcrossSeveralBatches) {
  testing::FakeClock clock;
  storage::MemoryTokenStore store;
  const absl::Time now = clock.Now();
  for (int i = 0; i < 25; ++i) {
    ASSERT_TRUE(
        store.AddRevocation(JtiRevocation("old-" + std::to_string(i), now + absl::Minutes(1)))
            .ok());
  }
  ASSERT_TRUE(store.AddRevocation(JtiRevocation("live", now + absl::Hours(1))).ok());
  clock.Advance(absl::Minutes(2));

  StorePruner pruner(store, clock, {.interval = absl::Minutes(1), .batch_size = 10});
  absl::StatusOr<int64_t> deleted = pruner.PruneOnce();
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(*deleted, 25);

  // The live entry stays, even far into the future of the pruned ones.
  absl::StatusOr<std::vector<storage::Revocation>> live = store.ListLiveRevocations(clock.Now());
  ASSERT_TRUE(live.ok());
  ASSERT_EQ(live->size(), 1u);
  EXPECT_EQ((*live)[0].key, "live");
  // Nothing left to prune: a second pass deletes nothing.
  EXPECT_EQ(*pruner.PruneOnce(), 0);
}

TEST(StorePrunerTest, OnePassIsBoundedByMaxBatches) {
  testing::FakeClock clock;
  storage::MemoryTokenStore store;
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(
        store.AddRevocation(JtiRevocation("j" + std::to_string(i), clock.Now() + absl::Seconds(1)))
            .ok());
  }
  clock.Advance(absl::Minutes(1));
  StorePruner pruner(store, clock,
                     {.interval = absl::Minutes(1), .batch_size = 5, .max_batches_per_pass = 2});
  EXPECT_EQ(*pruner.PruneOnce(), 10);
  EXPECT_EQ(*pruner.PruneOnce(), 10);
}

TEST(StorePrunerTest, TheBackgroundPassRunsEveryIntervalFromOneIntervalAfterStart) {
  testing::FakeClock clock;
  storage::MemoryTokenStore store;
  const absl::Time t0 = clock.Now();
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(
        store.AddRevocation(JtiRevocation("old-" + std::to_string(i), t0 + absl::Minutes(1))).ok());
  }
  clock.Advance(absl::Minutes(2));
  // The store reads no clock: listing as of t0 shows which rows are still stored.
  const auto stored = [&] { return store.ListLiveRevocations(t0)->size(); };

  auto waiter = std::make_unique<testing::ManualWaiter>();
  testing::ManualWaiter* loop = waiter.get();
  StorePruner pruner(store, clock, {.interval = absl::Minutes(5), .batch_size = 10},
                     std::move(waiter));
  pruner.Start();
  ASSERT_TRUE(loop->AwaitWaits(1));
  EXPECT_EQ(stored(), 3u) << "no pass at Start()";
  EXPECT_EQ(loop->timeouts().front(), absl::Minutes(5));

  loop->Elapse();
  ASSERT_TRUE(loop->AwaitWaits(2));
  EXPECT_EQ(stored(), 0u);

  ASSERT_TRUE(store.AddRevocation(JtiRevocation("later", clock.Now() + absl::Minutes(1))).ok());
  clock.Advance(absl::Minutes(2));
  EXPECT_EQ(stored(), 1u);
  loop->Elapse();
  ASSERT_TRUE(loop->AwaitWaits(3));
  EXPECT_EQ(stored(), 0u);
  for (absl::Duration t : loop->timeouts()) EXPECT_EQ(t, absl::Minutes(5));
  pruner.Stop();
}

}  // namespace
}  // namespace tokend::core
