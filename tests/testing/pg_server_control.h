#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace tokend::testing {

// Where a PostgreSQL test server lives and how it listens; Start/StopPostgresServer use the same
// options as scripts/lib/pg.sh, so a server started by the script can be stopped and restarted
// here (outage tests) and vice versa.
struct PgServerLayout {
  std::string bin_dir;     // initdb, pg_ctl
  std::string data_dir;    // PGDATA
  std::string socket_dir;  // -k
  std::string log_file;    // pg_ctl -l
  int port = 0;
};

// The server of scripts/lib/pg.sh (TOKEND_TEST_PG_BIN / _DIR / _PORT; socket directory and
// log next to the data directory); nullopt when those are not set.
std::optional<PgServerLayout> SharedTestServerLayout();

// `pg_ctl start -w` with "-c listen_addresses=127.0.0.1 -p <port> -k <socket_dir>
// -c fsync=off -c max_connections=200". Returns once the server accepts connections.
absl::Status StartPostgresServer(const PgServerLayout& layout);

// `pg_ctl stop -m fast -w`: ends every session and returns once the server is down.
absl::Status StopPostgresServer(const PgServerLayout& layout);

// Runs argv (argv[0] an absolute path) as the postgres user when we are root (initdb and
// pg_ctl refuse root), as ourselves otherwise; stdout and stderr are appended to `log_file`.
// INTERNAL with the exit status if it fails.
absl::Status RunAsPostgresUser(const std::vector<std::string>& argv, const std::string& log_file);

// A TCP port on 127.0.0.1 that was free a moment ago.
int PickFreeLoopbackPort();

}  // namespace tokend::testing
