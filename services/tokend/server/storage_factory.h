#pragma once

#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "services/tokend/server/server_config.h"
#include "storage/key_store.h"
#include "storage/postgres/pool_stats.h"
#include "storage/token_store.h"

namespace tokend::server {

// The stores and change feeds chosen by --store. Only server/ sees the technology; everything
// above holds the interfaces.
struct Storage {
  std::unique_ptr<storage::TokenStore> token_store;
  std::unique_ptr<storage::RevocationFeed> revocation_feed;
  // Managed signing keys only (a KEK is configured): where they live, and news of their changes.
  std::unique_ptr<storage::KeyStore> key_store;
  std::unique_ptr<storage::KeyChangeFeed> key_feed;
  // The connection pool's occupancy, for the pool gauges; null for the memory store.
  std::function<storage::PostgresPoolStats()> pool_stats;
};

// Opens the memory store (warning that it is not durable) or connects to PostgreSQL and checks
// its schema version (FAILED_PRECONDITION naming `tokend migrate` on a mismatch). The key store
// and feed are opened only when `managed_keys`.
absl::StatusOr<Storage> OpenStorage(const StoreSpec& spec, const storage::PostgresOptions& options,
                                    bool managed_keys);

}  // namespace tokend::server
