// A real database outage: the test starts its OWN throwaway server (ScratchPostgresServer),
// so stopping it never disturbs the shared server other tests use in parallel. While it is
// down every call answers UNAVAILABLE quickly; after a restart the store and the feed recover
// by themselves, and the feed reports the gap.

#include <algorithm>
#include <chrono>
#include <functional>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "storage/postgres/connection_pool.h"
#include "storage/postgres/connection_string.h"
#include "storage/postgres/postgres_revocation_feed.h"
#include "storage/postgres/postgres_token_store.h"
#include "tests/testing/pg_test_database.h"
#include "tests/testing/scratch_postgres_server.h"

namespace tokend::storage {
namespace {

using testing::PgTestDatabase;
using testing::ScratchPostgresServer;

const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);

RefreshTokenRecord Token(char id) {
  RefreshTokenRecord record;
  record.token_hash = std::string(32, id);
  record.family_id = std::string("family-") + id;
  record.subject = "alice";
  record.issued_at = kT0;
  record.expires_at = kT0 + absl::Hours(1);
  record.family_expires_at = kT0 + absl::Hours(24);
  return record;
}

RotateRequest Rotation(const RefreshTokenRecord& parent, char child, absl::Time now) {
  RotateRequest request;
  request.parent_hash = parent.token_hash;
  request.child = ChildToken{std::string(32, child), absl::Hours(1)};
  request.now = now;
  return request;
}

Revocation Jti(const std::string& key) {
  Revocation revocation;
  revocation.kind = Revocation::Kind::kTokenId;
  revocation.key = key;
  revocation.not_before = kT0;
  revocation.expires_at = kT0 + absl::Hours(1);
  revocation.revoked_at = kT0;
  return revocation;
}

class Recorder {
 public:
  RevocationFeed::Callbacks Callbacks() {
    RevocationFeed::Callbacks callbacks;
    callbacks.on_revocation = [this](const Revocation& revocation) {
      absl::MutexLock lock(&mu_);
      keys_.push_back(revocation.key);
    };
    callbacks.on_gap = [this] {
      absl::MutexLock lock(&mu_);
      ++gaps_;
    };
    return callbacks;
  }
  bool WaitForKey(const std::string& key, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto has = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return std::find(keys_.begin(), keys_.end(), key) != keys_.end();
    };
    return mu_.AwaitWithTimeout(absl::Condition(&has), timeout);
  }
  bool WaitForGap(absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto has_gap = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return gaps_ > 0; };
    return mu_.AwaitWithTimeout(absl::Condition(&has_gap), timeout);
  }
  int gaps() {
    absl::MutexLock lock(&mu_);
    return gaps_;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> keys_ ABSL_GUARDED_BY(mu_);
  int gaps_ ABSL_GUARDED_BY(mu_) = 0;
};

// Retries `call` until it succeeds or `timeout` passes; the time it took, or nullopt.
std::optional<std::chrono::milliseconds> TimeToSuccess(const std::function<absl::Status()>& call,
                                                       std::chrono::seconds timeout) {
  const auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < timeout) {
    if (call().ok()) {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - start);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling a real server
  }
  return std::nullopt;
}

TEST(PostgresOutageTest, CallsAreUnavailableDuringAnOutageAndRecoverAfterRestart) {
  TOKEND_REQUIRE_POSTGRES_OR_SKIP();
  auto server = ScratchPostgresServer::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  auto database = PgTestDatabase::CreateOn((*server)->dsn(), PgTestDatabase::Schema::kMigrated);
  ASSERT_TRUE(database.ok()) << database.status();

  PostgresOptions options;
  options.dsn = (*database)->dsn();
  options.pool_size = 4;
  auto connected = PostgresTokenStore::Connect(options);
  ASSERT_TRUE(connected.ok()) << connected.status();
  PostgresTokenStore& store = **connected;
  PostgresFeedOptions feed_options;
  feed_options.log_warning = [](std::string_view) {};  // expected during the outage
  PostgresRevocationFeed feed(options, feed_options);
  Recorder recorder;
  ASSERT_TRUE(feed.Start(recorder.Callbacks()).ok());

  // Healthy: the pool opens connections, the feed hears a revocation.
  const RefreshTokenRecord parent = Token('a');
  ASSERT_TRUE(store.InsertRefreshToken(parent).ok());
  ASSERT_TRUE(store.AddRevocation(Jti("before")).ok());
  ASSERT_TRUE(recorder.WaitForKey("before", absl::Seconds(5)));
  ASSERT_TRUE(store.Ping().ok());

  // Outage: every kind of call fails fast with UNAVAILABLE.
  ASSERT_TRUE((*server)->Stop().ok());
  const std::vector<std::pair<std::string, std::function<absl::Status()>>> calls = {
      {"Ping", [&] { return store.Ping(); }},
      {"Find", [&] { return store.FindRefreshToken(parent.token_hash).status(); }},
      {"Rotate", [&] { return store.RotateRefreshToken(Rotation(parent, 'b', kT0)).status(); }},
      {"AddRevocation", [&] { return store.AddRevocation(Jti("during")); }},
      {"ListLive", [&] { return store.ListLiveRevocations(kT0).status(); }},
      {"Prune", [&] { return store.PruneExpired(kT0, 10).status(); }},
      {"Insert", [&] { return store.InsertRefreshToken(Token('c')); }},
  };
  for (const auto& [name, call] : calls) {
    const auto start = std::chrono::steady_clock::now();
    const absl::Status status = call();
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << name << ": " << status;
    EXPECT_LT(took, std::chrono::seconds(3)) << name;
    std::cout << "[ outage   ] " << name << ": " << status << " after "
              << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms"
              << std::endl;
  }
  EXPECT_GT(store.pool_stats().connection_errors, 0);

  // Back: the store heals without being told, and the feed reconnects and reports a gap.
  ASSERT_TRUE((*server)->Restart().ok());
  const auto recovered = TimeToSuccess([&] { return store.Ping(); }, std::chrono::seconds(10));
  ASSERT_TRUE(recovered.has_value()) << "the store did not recover within 10 s";
  std::cout << "[ outage   ] store recovered " << recovered->count() << " ms after restart"
            << std::endl;
  auto rotated = store.RotateRefreshToken(Rotation(parent, 'b', kT0 + absl::Minutes(1)));
  ASSERT_TRUE(rotated.ok()) << rotated.status();
  EXPECT_EQ(rotated->outcome, RotateOutcome::kRotated);

  ASSERT_TRUE(recorder.WaitForGap(absl::Seconds(10))) << "the feed reported no gap";
  EXPECT_TRUE(feed.stats().connected);
  EXPECT_GE(feed.stats().reconnects, 1);
  ASSERT_TRUE(store.AddRevocation(Jti("after")).ok());
  EXPECT_TRUE(recorder.WaitForKey("after", absl::Seconds(5)));

  feed.Stop();
}

TEST(PostgresOutageTest, StaleConnectionsAreReplacedBeforeUseAfterARestart) {
  TOKEND_REQUIRE_POSTGRES_OR_SKIP();
  auto server = ScratchPostgresServer::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  PostgresOptions options;
  options.dsn = (*server)->dsn();
  pg::ConnectionPool::Options pool_options;
  pool_options.connection_string = pg::ConnectionStringFor(options);
  pool_options.size = 3;
  pg::ConnectionPool pool(pool_options);
  {
    std::vector<pg::ConnectionPool::Lease> leases;
    for (int i = 0; i < 3; ++i) {
      auto lease = pool.Acquire();
      ASSERT_TRUE(lease.ok()) << lease.status();
      leases.push_back(std::move(*lease));
    }
  }
  ASSERT_EQ(pool.stats().open, 3);

  // Every pooled session dies with the server; nothing uses the pool meanwhile.
  ASSERT_TRUE((*server)->Stop().ok());
  ASSERT_TRUE((*server)->Restart().ok());

  // The first acquires after the restart notice the dead sessions and open fresh ones, instead
  // of handing a dead connection to a call that would then fail.
  std::vector<pg::ConnectionPool::Lease> leases;
  for (int i = 0; i < 3; ++i) {
    auto lease = pool.Acquire();
    ASSERT_TRUE(lease.ok()) << lease.status();
    EXPECT_TRUE(lease->connection().is_open());
    leases.push_back(std::move(*lease));
  }
  EXPECT_EQ(pool.stats().connection_errors, 3);
  EXPECT_EQ(pool.stats().open, 3);
}

}  // namespace
}  // namespace tokend::storage
