#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tests/e2e/tokend_process.h"
#include "tests/testing/pg_test_database.h"

namespace tokend::e2e {

// PostgreSQL helpers for the end-to-end tests.

// OK when TOKEND_TEST_PG_DSN is set. Otherwise FAILED_PRECONDITION (the caller skips, with this
// message), or INTERNAL when env CI is set: CI must never skip PostgreSQL tests silently.
absl::Status PostgresAvailable();

// A fresh database without tables (PgTestDatabase kEmpty), for `tokend migrate` to fill.
absl::StatusOr<std::unique_ptr<testing::PgTestDatabase>> FreshEmptyDatabase();

// "--store=postgresql:<dsn>" (libpq key=value DSN form).
std::string StoreFlag(const std::string& dsn);

// Runs `tokend migrate --store=...` on `dsn`; INTERNAL with its output unless it exits 0.
absl::Status MigrateWithTokend(const std::string& dsn);

// psql -X -tA -c `sql` against `dsn`: the output with trailing whitespace removed.
absl::StatusOr<std::string> Psql(const std::string& dsn, const std::string& sql);

// Writes 32 random bytes (hex) to `dir`/refresh_secret and returns the path: the secret shared
// by replicas of one test.
std::string WriteRefreshSecret(const ScratchDir& dir);

}  // namespace tokend::e2e
