#pragma once

#include <string>

#include "absl/status/status.h"

namespace tokend::storage {

// Creating and dropping whole databases, for tests and tooling (one fresh database per test,
// CONVENTIONS §8). `admin_dsn` reaches any database of the server with the right to create
// databases. `name` must match [a-z_][a-z0-9_]{0,62} (checked: INVALID_ARGUMENT), because an
// identifier cannot be a query parameter. Errors are mapped as by the store. Thread-safe.

absl::Status CreateDatabase(const std::string& admin_dsn, const std::string& name);

// DROP DATABASE IF EXISTS ... WITH (FORCE): disconnects remaining sessions first.
absl::Status DropDatabase(const std::string& admin_dsn, const std::string& name);

// `admin_dsn` pointed at database `name`.
std::string DatabaseDsn(const std::string& admin_dsn, const std::string& name);

}  // namespace tokend::storage
