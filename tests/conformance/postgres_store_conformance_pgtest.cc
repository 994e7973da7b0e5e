// The storage conformance suite against PostgresTokenStore: each test gets a fresh database
// with the real migrations applied, and two stores on it, as two replicas would have.

#include <memory>

#include "storage/postgres/postgres_revocation_feed.h"
#include "storage/postgres/postgres_token_store.h"
#include "tests/conformance/token_store_conformance.h"
#include "tests/testing/pg_test_database.h"

namespace tokend::storage::conformance {
namespace {

class PostgresHarness : public StoreHarness {
 public:
  // nullptr after recording a skip (no TOKEND_TEST_PG_DSN) or a failure.
  static std::unique_ptr<StoreHarness> Make() {
    testing::RequirePostgresOrSkip();
    if (::testing::Test::IsSkipped() || ::testing::Test::HasFatalFailure()) return nullptr;
    auto database = testing::PgTestDatabase::Create();
    if (!database.ok()) {
      ADD_FAILURE() << "test database: " << database.status();
      return nullptr;
    }
    auto harness = std::unique_ptr<PostgresHarness>(new PostgresHarness());
    harness->database_ = std::move(*database);
    harness->options_.dsn = harness->database_->dsn();
    for (auto* store : {&harness->store_, &harness->peer_}) {
      auto connected = PostgresTokenStore::Connect(harness->options_);
      if (!connected.ok()) {
        ADD_FAILURE() << "connect: " << connected.status();
        return nullptr;
      }
      *store = std::move(*connected);
    }
    return harness;
  }

  TokenStore& store() override { return *store_; }
  TokenStore& peer() override { return *peer_; }
  std::unique_ptr<RevocationFeed> NewFeed() override {
    return std::make_unique<PostgresRevocationFeed>(options_);
  }

 private:
  PostgresHarness() = default;

  std::unique_ptr<testing::PgTestDatabase> database_;  // dropped last
  PostgresOptions options_;
  std::unique_ptr<PostgresTokenStore> store_;
  std::unique_ptr<PostgresTokenStore> peer_;
};

INSTANTIATE_TEST_SUITE_P(Postgres, TokenStoreConformanceTest,
                         ::testing::Values(StoreImplementation{"postgres", &PostgresHarness::Make}),
                         ImplementationName);

}  // namespace
}  // namespace tokend::storage::conformance
