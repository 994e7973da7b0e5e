#pragma once

// The PostgreSQL side of both conformance suites: each test gets a fresh database with the
// real migrations applied, and two stores on it, as two replicas would have.

#include <memory>
#include <type_traits>
#include <utility>

#include "gtest/gtest.h"
#include "storage/postgres/postgres_options.h"
#include "tests/testing/pg_test_database.h"

namespace tokend::storage::conformance {

// `Harness` is a suite's harness interface (StoreHarness, KeyStoreHarness: store(), peer(),
// NewFeed()); `Store` a PostgreSQL store with a static Connect(PostgresOptions), `Feed` a
// feed constructible from PostgresOptions. Not thread-safe, one per test.
template <typename Harness, typename Store, typename Feed>
class PostgresHarness final : public Harness {
 public:
  using Interface = std::remove_reference_t<decltype(std::declval<Harness&>().store())>;
  using FeedPointer = decltype(std::declval<Harness&>().NewFeed());

  // nullptr after recording a skip (no TOKEND_TEST_PG_DSN) or a failure.
  static std::unique_ptr<Harness> Make() {
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
      auto connected = Store::Connect(harness->options_);
      if (!connected.ok()) {
        ADD_FAILURE() << "connect: " << connected.status();
        return nullptr;
      }
      *store = std::move(*connected);
    }
    return harness;
  }

  Interface& store() override { return *store_; }
  Interface& peer() override { return *peer_; }
  FeedPointer NewFeed() override { return std::make_unique<Feed>(options_); }

 private:
  PostgresHarness() = default;

  std::unique_ptr<testing::PgTestDatabase> database_;  // dropped last
  PostgresOptions options_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Store> peer_;
};

}  // namespace tokend::storage::conformance
