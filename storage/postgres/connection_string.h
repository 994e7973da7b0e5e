#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "storage/postgres/postgres_options.h"

namespace tokend::storage::pg {

// Connection strings for libpq, built from an operator's DSN. Pure string functions; they do
// not validate the DSN (libpq does, when connecting). Thread-safe.

// `dsn` with `params` appended, in the DSN's own form: " key='value'" for a keyword/value DSN,
// "?key=value&..." (percent-encoded) for a postgres:// or postgresql:// URI. libpq keeps the last
// value of a repeated keyword, so these override the DSN's own.
std::string AppendConnectionParams(std::string_view dsn,
                                   const std::vector<std::pair<std::string, std::string>>& params);

// The DSN every pooled or listening connection uses: connect_timeout (whole seconds, rounded
// up), TCP keepalives, tcp_user_timeout (so a silently vanished server is noticed while a
// statement runs) and fallback_application_name=tokend.
std::string ConnectionStringFor(const PostgresOptions& options);

// `dsn` pointed at another database of the same server.
std::string WithDatabase(std::string_view dsn, std::string_view database);

}  // namespace tokend::storage::pg
