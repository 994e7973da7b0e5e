#pragma once

#include "absl/status/status.h"

namespace tokend::server {

// `tokend migrate --store=postgresql://...`: applies the forward-only migrations under an
// advisory lock and logs what it did. INVALID_ARGUMENT without a PostgreSQL --store; the
// migration's error otherwise (its message never holds the DSN's password).
absl::Status RunMigrate();

}  // namespace tokend::server
