#include "tests/testing/pg_test_database.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <random>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "storage/postgres/database_admin.h"
#include "storage/postgres/migrations.h"
#include "util/status_macros.h"

namespace tokend::testing {

std::optional<std::string> TestPostgresDsn() {
  const char* dsn = std::getenv("TOKEND_TEST_PG_DSN");
  if (dsn == nullptr || *dsn == '\0') return std::nullopt;
  return std::string(dsn);
}

void RequirePostgresOrSkip() {
  if (TestPostgresDsn().has_value()) return;
  const char* ci = std::getenv("CI");
  if (ci != nullptr && *ci != '\0') {
    GTEST_FAIL() << "TOKEND_TEST_PG_DSN is not set, and CI is: PostgreSQL tests must run in CI "
                    "(start a server with scripts/lib/pg.sh: pg_tmp_start)";
  }
  GTEST_SKIP() << "needs PostgreSQL: set TOKEND_TEST_PG_DSN (source scripts/lib/pg.sh; "
                  "pg_tmp_start)";
}

absl::StatusOr<std::unique_ptr<PgTestDatabase>> PgTestDatabase::Create(Schema schema) {
  const auto admin_dsn = TestPostgresDsn();
  if (!admin_dsn.has_value()) return absl::FailedPreconditionError("TOKEND_TEST_PG_DSN not set");
  return CreateOn(*admin_dsn, schema);
}

absl::StatusOr<std::unique_ptr<PgTestDatabase>> PgTestDatabase::CreateOn(
    const std::string& admin_dsn, Schema schema) {
  static std::atomic<int> counter{0};
  std::random_device random;
  const std::string name = absl::StrCat("tokend_test_", getpid(), "_", counter++, "_",
                                        std::uniform_int_distribution<uint32_t>()(random));
  TOKEND_RETURN_IF_ERROR(storage::CreateDatabase(admin_dsn, name));
  std::unique_ptr<PgTestDatabase> database(
      new PgTestDatabase(admin_dsn, name, storage::DatabaseDsn(admin_dsn, name)));
  if (schema == Schema::kMigrated) {
    TOKEND_RETURN_IF_ERROR(storage::MigrateSchema(database->dsn()));
  }
  return database;
}

PgTestDatabase::~PgTestDatabase() {
  const absl::Status dropped = storage::DropDatabase(admin_dsn_, name_);
  if (!dropped.ok()) ADD_FAILURE() << "dropping test database " << name_ << ": " << dropped;
}

}  // namespace tokend::testing
