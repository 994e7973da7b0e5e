#include "storage/postgres/connection.h"

#include "absl/strings/str_cat.h"
#include "pqxx/nontransaction"
#include "storage/postgres/queries.h"

namespace tokend::storage::pg {

std::unique_ptr<pqxx::connection> OpenConnection(const std::string& connection_string) {
  auto connection = std::make_unique<pqxx::connection>(connection_string);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  connection->inhibit_reactivation(true);
#pragma GCC diagnostic pop
  return connection;
}

void SetStatementTimeout(pqxx::connection& connection, absl::Duration timeout) {
  pqxx::nontransaction tx(connection);
  tx.exec_params(kSetStatementTimeout.sql, absl::StrCat(absl::ToInt64Milliseconds(timeout)));
  tx.commit();
}

}  // namespace tokend::storage::pg
