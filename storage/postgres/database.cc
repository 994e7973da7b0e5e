#include "storage/postgres/database.h"

#include "absl/strings/str_cat.h"
#include "pqxx/except"
#include "storage/postgres/connection_string.h"
#include "storage/postgres/migrations.h"
#include "storage/postgres/queries.h"
#include "util/status_macros.h"

namespace tokend::storage::pg {

absl::Status ValidatePostgresOptions(const PostgresOptions& options) {
  if (options.dsn.empty()) return absl::InvalidArgumentError("postgres: empty DSN");
  if (options.pool_size < 1) return absl::InvalidArgumentError("postgres: pool_size < 1");
  if (options.statement_timeout <= absl::ZeroDuration() ||
      options.acquire_timeout <= absl::ZeroDuration() ||
      options.connect_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("postgres: timeouts must be positive");
  }
  return absl::OkStatus();
}

Database::~Database() = default;

absl::StatusOr<std::unique_ptr<Database>> Database::Connect(const PostgresOptions& options) {
  TOKEND_RETURN_IF_ERROR(ValidatePostgresOptions(options));
  ConnectionPool::Options pool_options;
  pool_options.connection_string = ConnectionStringFor(options);
  pool_options.size = options.pool_size;
  pool_options.acquire_timeout = options.acquire_timeout;
  pool_options.statement_timeout = options.statement_timeout;
  auto database =
      std::unique_ptr<Database>(new Database(std::make_unique<ConnectionPool>(pool_options)));

  TOKEND_ASSIGN_OR_RETURN(
      const int version,
      database->Run(kSchemaVersion.name, [](pqxx::nontransaction& tx) -> absl::StatusOr<int> {
        try {
          return tx.exec_prepared(kSchemaVersion.name).at(0).at(0).as<int>();
        } catch (const pqxx::undefined_table&) {
          return 0;  // no schema_migrations: never migrated
        }
      }));
  const int expected = LatestSchemaVersion();
  if (version != expected) {
    return absl::FailedPreconditionError(absl::StrCat("schema version ", version, ", expected ",
                                                      expected, ": run `tokend migrate`"));
  }
  return database;
}

}  // namespace tokend::storage::pg
