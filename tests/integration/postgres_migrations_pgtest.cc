// Schema migrations against a real server: idempotent, safe when run concurrently, and
// checked by PostgresTokenStore::Connect.

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/postgres/migrations.h"
#include "storage/postgres/postgres_token_store.h"
#include "tests/testing/pg_test_database.h"

namespace tokend::storage {
namespace {

using ::testing::HasSubstr;
using testing::PgTestDatabase;

RefreshTokenRecord Token() {
  RefreshTokenRecord record;
  record.token_hash = std::string(32, '\x01');
  record.family_id = "family-1";
  record.subject = "alice";
  record.client_id = "client";
  record.issued_at = absl::FromUnixSeconds(1'700'000'000);
  record.expires_at = record.issued_at + absl::Hours(1);
  record.family_expires_at = record.issued_at + absl::Hours(24);
  return record;
}

TEST(PostgresMigrationsTest, ConnectRefusesADatabaseWithoutTheSchema) {
  TOKEND_REQUIRE_POSTGRES_OR_SKIP();
  auto database = PgTestDatabase::Create(PgTestDatabase::Schema::kEmpty);
  ASSERT_TRUE(database.ok()) << database.status();
  PostgresOptions options;
  options.dsn = (*database)->dsn();
  auto store = PostgresTokenStore::Connect(options);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition) << store.status();
  EXPECT_THAT(std::string(store.status().message()),
              HasSubstr(absl::StrCat("schema version 0, expected ", LatestSchemaVersion(),
                                     ": run `tokend migrate`")));
}

TEST(PostgresMigrationsTest, MigratingTwiceChangesNothing) {
  TOKEND_REQUIRE_POSTGRES_OR_SKIP();
  auto database = PgTestDatabase::Create(PgTestDatabase::Schema::kEmpty);
  ASSERT_TRUE(database.ok()) << database.status();
  ASSERT_TRUE(MigrateSchema((*database)->dsn()).ok());
  PostgresOptions options;
  options.dsn = (*database)->dsn();
  auto store = PostgresTokenStore::Connect(options);
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->InsertRefreshToken(Token()).ok());

  ASSERT_TRUE(MigrateSchema((*database)->dsn()).ok());
  auto found = (*store)->FindRefreshToken(Token().token_hash);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_TRUE(found->has_value());
  EXPECT_TRUE(PostgresTokenStore::Connect(options).ok());
}

TEST(PostgresMigrationsTest, ConcurrentMigrationsAllSucceedOnce) {
  TOKEND_REQUIRE_POSTGRES_OR_SKIP();
  auto database = PgTestDatabase::Create(PgTestDatabase::Schema::kEmpty);
  ASSERT_TRUE(database.ok()) << database.status();
  const std::string dsn = (*database)->dsn();
  std::vector<absl::Status> results(6);
  std::vector<std::thread> threads;
  for (auto& result : results) {
    threads.emplace_back([&result, &dsn] { result = MigrateSchema(dsn); });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& result : results) EXPECT_TRUE(result.ok()) << result;

  PostgresOptions options;
  options.dsn = dsn;
  auto store = PostgresTokenStore::Connect(options);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_TRUE((*store)->InsertRefreshToken(Token()).ok());
}

TEST(PostgresMigrationsTest, LatestVersionIsTheHighestEmbeddedMigration) {
  EXPECT_GE(LatestSchemaVersion(), 1);
}

}  // namespace
}  // namespace tokend::storage
