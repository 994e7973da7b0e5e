#include "services/tokend/core/denylist_syncer.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "services/tokend/core/token_metrics.h"
#include "storage/memory/memory_revocation_feed.h"
#include "storage/memory/memory_token_store.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/manual_waiter.h"
#include "tests/testing/metric_value.h"

namespace tokend::core {
namespace {

using Kind = storage::Revocation::Kind;
using ::tokend::testing::ManualWaiter;

// Delegates to a MemoryTokenStore; ListLiveRevocations can be made to fail, and is counted.
class SwitchableStore : public storage::TokenStore {
 public:
  absl::Status InsertRefreshToken(const storage::RefreshTokenRecord& r) override {
    return inner.InsertRefreshToken(r);
  }
  absl::StatusOr<std::optional<storage::RefreshTokenRecord>> FindRefreshToken(
      const std::string& h) override {
    return inner.FindRefreshToken(h);
  }
  absl::StatusOr<storage::RotateResult> RotateRefreshToken(
      const storage::RotateRequest& r) override {
    return inner.RotateRefreshToken(r);
  }
  absl::Status AddRevocation(const storage::Revocation& r) override {
    return inner.AddRevocation(r);
  }
  absl::StatusOr<std::vector<storage::Revocation>> ListLiveRevocations(absl::Time now) override {
    ++reloads;
    if (down) return absl::UnavailableError("database is down");
    return inner.ListLiveRevocations(now);
  }
  absl::StatusOr<int64_t> PruneExpired(absl::Time now, int batch) override {
    return inner.PruneExpired(now, batch);
  }
  absl::Status Ping() override { return inner.Ping(); }

  storage::MemoryTokenStore inner;
  std::atomic<bool> down{false};
  std::atomic<int> reloads{0};
};

// A feed the test drives by hand.
class ManualFeed : public storage::RevocationFeed {
 public:
  absl::Status Start(Callbacks callbacks) override {
    if (fail_start) return absl::UnavailableError("cannot listen");
    callbacks_ = std::move(callbacks);
    started = true;
    return absl::OkStatus();
  }
  void Stop() override { stopped = true; }
  void Deliver(const storage::Revocation& r) { callbacks_.on_revocation(r); }
  void Gap() { callbacks_.on_gap(); }

  std::atomic<bool> fail_start{false};
  std::atomic<bool> started{false};
  std::atomic<bool> stopped{false};

 private:
  Callbacks callbacks_;
};

storage::Revocation Entry(Kind kind, std::string key, absl::Time revoked_at) {
  storage::Revocation r;
  r.kind = kind;
  r.key = std::move(key);
  r.revoked_at = revoked_at;
  r.expires_at = revoked_at + absl::Hours(1);
  return r;
}

// Polls `done` for up to 10 s of real time (only for effects of background threads).
template <typename F>
bool Eventually(F done) {
  for (int i = 0; i < 1000; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

struct SyncerHarness {
  SyncerHarness() : metrics(registry) {}
  tokend::testing::FakeClock clock;
  prometheus::Registry registry;
  TokenMetrics metrics;
  SwitchableStore store;
  Denylist denylist;
};

TEST(DenylistSyncerTest, StartLoadsTheFullListAndWritesThePolicy) {
  SyncerHarness h;
  ASSERT_TRUE(h.store.AddRevocation(Entry(Kind::kTokenId, "jti-1", h.clock.Now())).ok());
  ManualFeed feed;
  DenylistSyncer syncer(h.denylist, h.store, feed, h.clock, h.metrics,
                        {absl::Hours(1), absl::Seconds(30), FailMode::kOpen});
  EXPECT_EQ(h.denylist.freshness_policy().max_staleness, absl::Seconds(30));
  EXPECT_EQ(h.denylist.freshness_policy().fail_mode, FailMode::kOpen);
  ASSERT_TRUE(syncer.Start().ok());
  EXPECT_TRUE(feed.started);
  EXPECT_TRUE(h.denylist.IsRevoked("jti-1", "", "", h.clock.Now()));
  EXPECT_TRUE(syncer.Fresh(h.clock.Now()));
  EXPECT_FALSE(syncer.Fresh(h.clock.Now() + absl::Seconds(31)));
  EXPECT_EQ(
      tokend::testing::MetricValue(h.registry, "tokend_denylist_entries", {{"kind", "token_id"}}),
      1.0);
  EXPECT_EQ(tokend::testing::MetricValue(h.registry, "tokend_store_up"), 1.0);
  EXPECT_EQ(tokend::testing::MetricValue(h.registry, "tokend_denylist_last_sync_timestamp_seconds"),
            1'700'000'000.0);
  syncer.Stop();
  EXPECT_TRUE(feed.stopped);
}

TEST(DenylistSyncerTest, FeedEventsApplyAtOnceAndRecordPropagation) {
  SyncerHarness h;
  ManualFeed feed;
  DenylistSyncer syncer(h.denylist, h.store, feed, h.clock, h.metrics, {});
  ASSERT_TRUE(syncer.Start().ok());
  const absl::Time revoked_at = h.clock.Now();
  h.clock.Advance(absl::Milliseconds(40));
  feed.Deliver(Entry(Kind::kFamily, "fam-1", revoked_at));
  EXPECT_TRUE(h.denylist.IsRevoked("", "fam-1", "", h.clock.Now()));
  EXPECT_EQ(tokend::testing::MetricValue(h.registry, "tokend_denylist_propagation_seconds"), 1.0);
}

TEST(DenylistSyncerTest, WorksWithTheMemoryStoresOwnFeed) {
  SyncerHarness h;
  std::unique_ptr<storage::MemoryRevocationFeed> feed = h.store.inner.NewFeed();
  {
    DenylistSyncer syncer(h.denylist, h.store, *feed, h.clock, h.metrics,
                          {absl::Hours(1), absl::Seconds(60), FailMode::kClosed});
    ASSERT_TRUE(syncer.Start().ok());
    // Committed after the load: only the feed can bring it.
    ASSERT_TRUE(h.store.AddRevocation(Entry(Kind::kSubject, "alice", h.clock.Now())).ok());
    EXPECT_TRUE(Eventually([&] { return h.denylist.sizes().subjects == 1; }));
  }
}

TEST(DenylistSyncerTest, StartReportsAStoreOutageAndRecoversOnReload) {
  SyncerHarness h;
  h.store.down = true;
  ManualFeed feed;
  DenylistSyncer syncer(h.denylist, h.store, feed, h.clock, h.metrics, {absl::Hours(1)});
  EXPECT_EQ(syncer.Start().code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(h.denylist.IsUsable(h.clock.Now()));
  EXPECT_EQ(tokend::testing::MetricValue(h.registry, "tokend_store_up"), 0.0);
  EXPECT_EQ(
      tokend::testing::MetricValue(h.registry, "tokend_store_errors_total",
                                   {{"operation", "ListLiveRevocations"}, {"code", "Unavailable"}}),
      1.0);

  h.store.down = false;
  EXPECT_TRUE(syncer.ReloadNow().ok());
  EXPECT_TRUE(h.denylist.IsUsable(h.clock.Now()));
  EXPECT_EQ(tokend::testing::MetricValue(h.registry, "tokend_store_up"), 1.0);
}

TEST(DenylistSyncerTest, FailedReloadKeepsTheLastListAndGoesStale) {
  SyncerHarness h;
  ASSERT_TRUE(h.store.AddRevocation(Entry(Kind::kTokenId, "jti-1", h.clock.Now())).ok());
  ManualFeed feed;
  DenylistSyncer syncer(h.denylist, h.store, feed, h.clock, h.metrics, {absl::Hours(1)});
  ASSERT_TRUE(syncer.Start().ok());
  h.store.down = true;
  h.clock.Advance(absl::Seconds(61));
  EXPECT_FALSE(syncer.ReloadNow().ok());
  EXPECT_TRUE(h.denylist.IsRevoked("jti-1", "", "", h.clock.Now()));
  EXPECT_FALSE(syncer.Fresh(h.clock.Now()));
  EXPECT_EQ(tokend::testing::MetricValue(h.registry, "tokend_denylist_staleness_seconds"), 61.0);
}

TEST(DenylistSyncerTest, AFeedGapTriggersAFullReload) {
  SyncerHarness h;
  ManualFeed feed;
  auto waiter = std::make_unique<ManualWaiter>();
  ManualWaiter* loop = waiter.get();
  DenylistSyncer syncer(h.denylist, h.store, feed, h.clock, h.metrics, {absl::Hours(1)},
                        std::move(waiter));
  ASSERT_TRUE(syncer.Start().ok());
  ASSERT_TRUE(loop->AwaitWaits(1));
  const int after_start = h.store.reloads.load();
  // Missed while the feed was disconnected:
  ASSERT_TRUE(h.store.AddRevocation(Entry(Kind::kTokenId, "missed", h.clock.Now())).ok());
  feed.Gap();  // ends the hour-long wait at once
  ASSERT_TRUE(loop->AwaitWaits(2));
  EXPECT_TRUE(h.denylist.IsRevoked("missed", "", "", h.clock.Now()));
  EXPECT_EQ(h.store.reloads.load(), after_start + 1);
}

TEST(DenylistSyncerTest, ReloadsPeriodically) {
  SyncerHarness h;
  ManualFeed feed;
  auto waiter = std::make_unique<ManualWaiter>();
  ManualWaiter* loop = waiter.get();
  DenylistSyncer syncer(h.denylist, h.store, feed, h.clock, h.metrics, {absl::Seconds(5)},
                        std::move(waiter));
  ASSERT_TRUE(syncer.Start().ok());
  ASSERT_TRUE(loop->AwaitWaits(1));
  EXPECT_EQ(h.store.reloads.load(), 1) << "only Start's own load so far";
  for (int i = 2; i <= 3; ++i) {
    loop->Elapse();
    ASSERT_TRUE(loop->AwaitWaits(i));
    EXPECT_EQ(h.store.reloads.load(), i);
  }
  for (absl::Duration t : loop->timeouts()) EXPECT_EQ(t, absl::Seconds(5));
}

TEST(DenylistSyncerTest, RetriesAFeedThatFailedToStart) {
  SyncerHarness h;
  ManualFeed feed;
  feed.fail_start = true;
  auto waiter = std::make_unique<ManualWaiter>();
  ManualWaiter* loop = waiter.get();
  DenylistSyncer syncer(h.denylist, h.store, feed, h.clock, h.metrics, {absl::Seconds(5)},
                        std::move(waiter));
  EXPECT_EQ(syncer.Start().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(h.denylist.IsUsable(h.clock.Now())) << "the load itself succeeded";
  ASSERT_TRUE(loop->AwaitWaits(1));
  EXPECT_FALSE(feed.started.load());
  feed.fail_start = false;
  loop->Elapse();  // the next reload interval
  ASSERT_TRUE(loop->AwaitWaits(2));
  EXPECT_TRUE(feed.started.load());
  syncer.Stop();
  EXPECT_TRUE(feed.stopped.load()) << "a feed restarted by the reload thread is stopped too";
}

TEST(DenylistSyncerTest, StopIsPromptAndIdempotent) {
  SyncerHarness h;
  ManualFeed feed;
  DenylistSyncer syncer(h.denylist, h.store, feed, h.clock, h.metrics, {absl::Hours(1)});
  ASSERT_TRUE(syncer.Start().ok());
  const auto begin = std::chrono::steady_clock::now();
  syncer.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(5));
  syncer.Stop();
  EXPECT_TRUE(feed.stopped);
  EXPECT_EQ(syncer.Start().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace tokend::core
