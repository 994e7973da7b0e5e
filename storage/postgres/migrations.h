#pragma once

#include <string>

#include "absl/status/status.h"

namespace tokend::storage {

// Schema migrations for PostgresTokenStore: the numbered, forward-only files of
// storage/postgres/migrations/, embedded in the binary at build time.

// Applies every pending migration, in order, each in its own transaction, while holding a
// session-level pg_advisory_lock, so replicas and jobs may run it at once (they wait for
// each other, then find nothing to do). Idempotent. Waits at most 60 s for the lock.
// FAILED_PRECONDITION if the database holds migrations this binary does not know (a newer
// schema); UNAVAILABLE if the database cannot be reached; INTERNAL if a migration fails (its
// transaction is rolled back). Messages never include the DSN.
absl::Status MigrateSchema(const std::string& dsn);

// The schema version this binary needs: the highest embedded migration.
int LatestSchemaVersion();

}  // namespace tokend::storage
