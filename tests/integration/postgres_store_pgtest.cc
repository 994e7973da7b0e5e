// PostgresTokenStore behaviour beyond the conformance suite: payload limits, error hygiene,
// the connection pool's bounds.

#include <chrono>
#include <string>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/postgres/connection_pool.h"
#include "storage/postgres/connection_string.h"
#include "storage/postgres/postgres_token_store.h"
#include "tests/testing/pg_test_database.h"

namespace tokend::storage {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::PgTestDatabase;

const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TOKEND_REQUIRE_POSTGRES_OR_SKIP();
    auto database = PgTestDatabase::Create();
    ASSERT_TRUE(database.ok()) << database.status();
    database_ = std::move(*database);
    options_.dsn = database_->dsn();
    auto store = PostgresTokenStore::Connect(options_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }

  std::unique_ptr<PgTestDatabase> database_;
  PostgresOptions options_;
  std::unique_ptr<PostgresTokenStore> store_;
};

TEST_F(PostgresStoreTest, RevocationWhoseNotificationWouldBeTooLargeIsRefused) {
  Revocation revocation;
  revocation.kind = Revocation::Kind::kTokenId;
  revocation.key = std::string(7000, 'k');
  revocation.expires_at = kT0 + absl::Hours(1);
  EXPECT_EQ(store_->AddRevocation(revocation).code(), absl::StatusCode::kInvalidArgument);
  revocation.key = std::string(1000, 'k');
  EXPECT_TRUE(store_->AddRevocation(revocation).ok());
  auto live = store_->ListLiveRevocations(kT0);
  ASSERT_TRUE(live.ok()) << live.status();
  ASSERT_EQ(live->size(), 1u);
  EXPECT_EQ((*live)[0].key.size(), 1000u);
}

TEST_F(PostgresStoreTest, DuplicateErrorCarriesNoTokenData) {
  RefreshTokenRecord record;
  record.token_hash = std::string(32, '\xab');
  record.family_id = "family-1";
  record.subject = "alice";
  record.issued_at = kT0;
  record.expires_at = kT0 + absl::Hours(1);
  record.family_expires_at = kT0 + absl::Hours(24);
  ASSERT_TRUE(store_->InsertRefreshToken(record).ok());
  const absl::Status duplicate = store_->InsertRefreshToken(record);
  EXPECT_EQ(duplicate.code(), absl::StatusCode::kAlreadyExists);
  const std::string message(duplicate.message());
  EXPECT_THAT(message, HasSubstr("23505"));
  EXPECT_THAT(message, Not(HasSubstr("abab")));  // the server's detail quotes the key in hex
  EXPECT_THAT(message, Not(HasSubstr("Key (")));
}

TEST_F(PostgresStoreTest, PoolWaitsAtMostTheAcquireTimeout) {
  pg::ConnectionPool::Options options;
  options.connection_string = pg::ConnectionStringFor(options_);
  options.size = 1;
  options.acquire_timeout = absl::Milliseconds(200);
  pg::ConnectionPool pool(options);
  {
    auto held = pool.Acquire();
    ASSERT_TRUE(held.ok()) << held.status();
    EXPECT_EQ(pool.stats().in_use, 1);
    EXPECT_EQ(pool.stats().open, 1);

    const auto start = std::chrono::steady_clock::now();
    auto starved = pool.Acquire();
    const auto waited = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(starved.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_GE(waited, std::chrono::milliseconds(150));
    EXPECT_LT(waited, std::chrono::milliseconds(1500));
    EXPECT_EQ(pool.stats().acquire_timeouts, 1);
  }
  EXPECT_EQ(pool.stats().in_use, 0);
  EXPECT_TRUE(pool.Acquire().ok());
  EXPECT_EQ(pool.stats().open, 1);  // the same connection, reused
  EXPECT_EQ(pool.stats().connection_errors, 0);
}

TEST_F(PostgresStoreTest, PoolStatsReportTheConfiguredSize) {
  EXPECT_TRUE(store_->Ping().ok());
  const PostgresPoolStats stats = store_->pool_stats();
  EXPECT_EQ(stats.size, 8);
  EXPECT_EQ(stats.in_use, 0);
  EXPECT_GE(stats.open, 1);
}

}  // namespace
}  // namespace tokend::storage
