#include "storage/postgres/migrations.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "pqxx/connection"
#include "pqxx/nontransaction"
#include "pqxx/result"
#include "pqxx/transaction"
#include "storage/postgres/connection.h"
#include "storage/postgres/connection_string.h"
#include "storage/postgres/migrations_embedded.h"
#include "storage/postgres/postgres_error.h"
#include "storage/postgres/postgres_options.h"
#include "storage/postgres/queries.h"

namespace tokend::storage {

using pg::kEmbeddedMigrations;

int LatestSchemaVersion() {
  int latest = 0;
  for (const auto& migration : kEmbeddedMigrations) latest = std::max(latest, migration.version);
  return latest;
}

absl::Status MigrateSchema(const std::string& dsn) {
  PostgresOptions options;
  options.dsn = dsn;
  const char* step = "connect";
  try {
    // Never reactivated silently: a lost session would silently lose the lock.
    const std::unique_ptr<pqxx::connection> session =
        pg::OpenConnection(pg::ConnectionStringFor(options));
    pqxx::connection& connection = *session;
    std::set<int> applied;
    {
      step = pg::kMigrationLock.name;
      pqxx::nontransaction tx(connection);
      tx.exec_params(pg::kSetStatementTimeout.sql, "60000");  // bounds the wait for the lock
      tx.exec_params(pg::kMigrationLock.sql, pg::kMigrationLockKey);
      tx.exec_params(pg::kSetStatementTimeout.sql, "0");  // a migration may take its time
      step = pg::kCreateMigrationsTable.name;
      tx.exec(pg::kCreateMigrationsTable.sql);
      step = pg::kAppliedVersions.name;
      for (const auto& row : tx.exec(pg::kAppliedVersions.sql)) applied.insert(row[0].as<int>());
      tx.commit();
    }
    const int latest = LatestSchemaVersion();
    for (int version : applied) {
      const bool known = std::any_of(std::begin(kEmbeddedMigrations), std::end(kEmbeddedMigrations),
                                     [&](const auto& m) { return m.version == version; });
      if (!known) {
        return absl::FailedPreconditionError(absl::StrCat("database has schema migration ", version,
                                                          " unknown to this binary "
                                                          "(which knows up to ",
                                                          latest, "): upgrade tokend"));
      }
    }
    for (const auto& migration : kEmbeddedMigrations) {
      if (applied.contains(migration.version)) continue;
      step = migration.name;
      pqxx::work tx(connection);
      tx.exec(migration.sql);
      tx.exec_params(pg::kRecordMigration.sql, migration.version, std::string(migration.name));
      tx.commit();
    }
    step = pg::kMigrationUnlock.name;
    pqxx::nontransaction tx(connection);
    tx.exec_params(pg::kMigrationUnlock.sql, pg::kMigrationLockKey);
    tx.commit();
    return absl::OkStatus();
  } catch (...) {
    return pg::StatusFromException(std::current_exception(), absl::StrCat("migrate (", step, ")"));
  }
}

}  // namespace tokend::storage
