#pragma once

#include <string>

#include "absl/time/time.h"

namespace tokend::storage {

// How the PostgreSQL stores and feeds reach the database. Every connection
// gets connect_timeout and statement_timeout, so no call can hang on an unreachable database.
struct PostgresOptions {
  std::string dsn;  // libpq "key=value ..." or "postgresql://..." URI; may hold a password
  int pool_size = 8;
  absl::Duration statement_timeout = absl::Seconds(2);
  absl::Duration acquire_timeout = absl::Seconds(2);  // waiting for a free pooled connection
  absl::Duration connect_timeout = absl::Seconds(2);  // libpq rounds values below 2 s up to 2 s
};

}  // namespace tokend::storage
