#include "storage/postgres/database_admin.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "pqxx/connection"
#include "pqxx/nontransaction"
#include "storage/postgres/connection_string.h"
#include "storage/postgres/postgres_error.h"
#include "storage/postgres/postgres_options.h"

namespace tokend::storage {
namespace {

bool IsPlainIdentifier(const std::string& name) {
  if (name.empty() || name.size() > 63) return false;
  if (!((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_')) return false;
  return std::ranges::all_of(
      name, [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

// Runs "<prefix><quoted name><suffix>" outside a transaction (CREATE/DROP DATABASE need that).
absl::Status RunDatabaseCommand(const std::string& admin_dsn, const std::string& name,
                                const char* prefix, const char* suffix, const char* operation) {
  if (!IsPlainIdentifier(name)) {
    return absl::InvalidArgumentError("database name must match [a-z_][a-z0-9_]{0,62}");
  }
  PostgresOptions options;
  options.dsn = admin_dsn;
  try {
    pqxx::connection connection(pg::ConnectionStringFor(options));
    pqxx::nontransaction tx(connection);
    tx.exec(absl::StrCat(prefix, connection.quote_name(name), suffix));
    tx.commit();
    return absl::OkStatus();
  } catch (...) {
    return pg::StatusFromException(std::current_exception(), operation);
  }
}

}  // namespace

absl::Status CreateDatabase(const std::string& admin_dsn, const std::string& name) {
  return RunDatabaseCommand(admin_dsn, name, "CREATE DATABASE ", "", "create_database");
}

absl::Status DropDatabase(const std::string& admin_dsn, const std::string& name) {
  return RunDatabaseCommand(admin_dsn, name, "DROP DATABASE IF EXISTS ", " WITH (FORCE)",
                            "drop_database");
}

std::string DatabaseDsn(const std::string& admin_dsn, const std::string& name) {
  return pg::WithDatabase(admin_dsn, name);
}

}  // namespace tokend::storage
