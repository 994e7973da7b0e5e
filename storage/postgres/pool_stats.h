#pragma once

#include <cstdint>

namespace tokend::storage {

// A snapshot of PostgresTokenStore's connection pool, for metrics.
struct PostgresPoolStats {
  int size = 0;                   // configured connections
  int in_use = 0;                 // leased to a call right now
  int open = 0;                   // connected (the rest open lazily on the next acquire)
  int64_t connection_errors = 0;  // failed opens + connections dropped as broken, since start
  int64_t acquire_timeouts = 0;   // calls that found no free connection within acquire_timeout
};

}  // namespace tokend::storage
