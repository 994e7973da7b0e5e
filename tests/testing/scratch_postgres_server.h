#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "tests/testing/pg_server_control.h"

namespace tokend::testing {

// A private, throwaway PostgreSQL server for tests that stop the database (outage tests), so
// they never disturb the shared server other tests use in parallel. Start() runs initdb in a
// fresh temporary directory (owned by the postgres user when we are root) and starts the
// server on a free loopback port; the destructor stops it (immediate mode) and deletes the
// directory. Binaries from TOKEND_TEST_PG_BIN (default /usr/lib/postgresql/15/bin).
// Not thread-safe.
class ScratchPostgresServer {
 public:
  static absl::StatusOr<std::unique_ptr<ScratchPostgresServer>> Start();

  ScratchPostgresServer(const ScratchPostgresServer&) = delete;
  ScratchPostgresServer& operator=(const ScratchPostgresServer&) = delete;
  ~ScratchPostgresServer();

  // pg_ctl stop -m fast: every session ends; connections are refused until Restart().
  absl::Status Stop();
  // Starts again with the same data, port and options.
  absl::Status Restart();

  // Superuser DSN of database "postgres" (user tokend, trust auth, connect_timeout=2).
  std::string dsn() const;
  int port() const { return layout_.port; }
  const PgServerLayout& layout() const { return layout_; }

 private:
  ScratchPostgresServer(std::string root, PgServerLayout layout)
      : root_(std::move(root)), layout_(std::move(layout)) {}

  std::string root_;
  PgServerLayout layout_;
  bool running_ = false;
};

}  // namespace tokend::testing
