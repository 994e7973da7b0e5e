#pragma once

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"

namespace tokend::testing {

// The DSN of the test server (env TOKEND_TEST_PG_DSN, exported by scripts/lib/pg.sh), if set.
std::optional<std::string> TestPostgresDsn();

// For tests that need PostgreSQL: without TOKEND_TEST_PG_DSN, records a skip with a clear
// message, or a fatal failure when env CI is set (CI must never silently skip them). Call it
// from a test body or SetUp, then return when ::testing::Test::IsSkipped() or
// HasFatalFailure(); TOKEND_REQUIRE_POSTGRES_OR_SKIP() does both.
void RequirePostgresOrSkip();

#define TOKEND_REQUIRE_POSTGRES_OR_SKIP()                                           \
  do {                                                                              \
    ::tokend::testing::RequirePostgresOrSkip();                                     \
    if (::testing::Test::IsSkipped() || ::testing::Test::HasFatalFailure()) return; \
  } while (false)

// A fresh database for one test (CONVENTIONS §8): uniquely named, created on the server of
// TOKEND_TEST_PG_DSN (or of `admin_dsn`), with the real migrations applied unless kEmpty;
// dropped (WITH FORCE) in the destructor. Not thread-safe; create one per test.
class PgTestDatabase {
 public:
  enum class Schema { kMigrated, kEmpty };

  // FAILED_PRECONDITION without TOKEND_TEST_PG_DSN; the database's errors otherwise.
  static absl::StatusOr<std::unique_ptr<PgTestDatabase>> Create(Schema schema = Schema::kMigrated);
  static absl::StatusOr<std::unique_ptr<PgTestDatabase>> CreateOn(const std::string& admin_dsn,
                                                                  Schema schema);

  PgTestDatabase(const PgTestDatabase&) = delete;
  PgTestDatabase& operator=(const PgTestDatabase&) = delete;
  ~PgTestDatabase();

  // Connects to this database (the admin DSN with dbname replaced).
  const std::string& dsn() const { return dsn_; }
  const std::string& name() const { return name_; }

 private:
  PgTestDatabase(std::string admin_dsn, std::string name, std::string dsn)
      : admin_dsn_(std::move(admin_dsn)), name_(std::move(name)), dsn_(std::move(dsn)) {}

  std::string admin_dsn_;
  std::string name_;
  std::string dsn_;
};

}  // namespace tokend::testing
