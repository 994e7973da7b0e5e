#pragma once

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "pqxx/connection"

namespace tokend::storage::pg {

// Opening one libpqxx connection the way every tokend connection is opened (pooled, listening
// or migrating). Both throw what libpqxx throws: map it with StatusFromException. Thread-safe
// (each call works on its own connection).

// Connects with `connection_string` (ConnectionStringFor) and disables libpqxx 6's silent
// reactivation, which would reconnect inside a later call without our session settings, without
// a bound on the wait, and (for a listener) without anyone noticing the gap.
std::unique_ptr<pqxx::connection> OpenConnection(const std::string& connection_string);

// Sets the session's statement_timeout (0: none), so no statement can hang.
void SetStatementTimeout(pqxx::connection& connection, absl::Duration timeout);

}  // namespace tokend::storage::pg
