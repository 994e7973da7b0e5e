// The key-store conformance suite against PostgresKeyStore: each test gets a fresh database with
// the real migrations applied, and two stores on it, as two replicas would have.

#include <memory>

#include "storage/postgres/postgres_key_change_feed.h"
#include "storage/postgres/postgres_key_store.h"
#include "tests/conformance/key_store_conformance.h"
#include "tests/testing/pg_test_database.h"

namespace tokend::storage::conformance {
namespace {

class PostgresKeyHarness : public KeyStoreHarness {
 public:
  // nullptr after recording a skip (no TOKEND_TEST_PG_DSN) or a failure.
  static std::unique_ptr<KeyStoreHarness> Make() {
    testing::RequirePostgresOrSkip();
    if (::testing::Test::IsSkipped() || ::testing::Test::HasFatalFailure()) return nullptr;
    auto database = testing::PgTestDatabase::Create();
    if (!database.ok()) {
      ADD_FAILURE() << "test database: " << database.status();
      return nullptr;
    }
    auto harness = std::unique_ptr<PostgresKeyHarness>(new PostgresKeyHarness());
    harness->database_ = std::move(*database);
    harness->options_.dsn = harness->database_->dsn();
    for (auto* store : {&harness->store_, &harness->peer_}) {
      auto connected = PostgresKeyStore::Connect(harness->options_);
      if (!connected.ok()) {
        ADD_FAILURE() << "connect: " << connected.status();
        return nullptr;
      }
      *store = std::move(*connected);
    }
    return harness;
  }

  KeyStore& store() override { return *store_; }
  KeyStore& peer() override { return *peer_; }
  std::unique_ptr<KeyChangeFeed> NewFeed() override {
    return std::make_unique<PostgresKeyChangeFeed>(options_);
  }

 private:
  PostgresKeyHarness() = default;

  std::unique_ptr<testing::PgTestDatabase> database_;  // dropped last
  PostgresOptions options_;
  std::unique_ptr<PostgresKeyStore> store_;
  std::unique_ptr<PostgresKeyStore> peer_;
};

INSTANTIATE_TEST_SUITE_P(Postgres, KeyStoreConformanceTest,
                         ::testing::Values(KeyStoreImplementation{"postgres",
                                                                  &PostgresKeyHarness::Make}),
                         KeyStoreImplementationName);

}  // namespace
}  // namespace tokend::storage::conformance
