#include "services/tokend/server/storage_factory.h"

#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "storage/memory/memory_key_change_feed.h"
#include "storage/memory/memory_key_store.h"
#include "storage/memory/memory_revocation_feed.h"
#include "storage/memory/memory_token_store.h"
#include "storage/postgres/postgres_key_change_feed.h"
#include "storage/postgres/postgres_key_store.h"
#include "storage/postgres/postgres_revocation_feed.h"
#include "storage/postgres/postgres_token_store.h"
#include "util/log.h"

namespace tokend::server {
namespace {

absl::StatusOr<Storage> OpenMemory(bool managed_keys) {
  log::Warning(
      "*** --store=memory: refresh tokens and revocations live in this process only and are "
      "LOST on exit; run a single replica. Use --store=postgresql://... in production. ***");
  Storage out;
  if (managed_keys) {
    auto key_store = std::make_unique<storage::MemoryKeyStore>();
    out.key_feed = key_store->NewFeed();
    out.key_store = std::move(key_store);
  }
  auto store = std::make_unique<storage::MemoryTokenStore>();
  out.revocation_feed = store->NewFeed();
  out.token_store = std::move(store);
  return out;
}

absl::StatusOr<Storage> OpenPostgres(const storage::PostgresOptions& options, bool managed_keys) {
  log::Info(absl::StrCat("connecting to PostgreSQL at ", log::RedactDsn(options.dsn)));
  Storage out;
  absl::StatusOr<std::unique_ptr<storage::PostgresTokenStore>> store =
      storage::PostgresTokenStore::Connect(options);
  if (!store.ok()) return store.status();
  storage::PostgresTokenStore* postgres = store->get();
  out.pool_stats = [postgres] { return postgres->pool_stats(); };
  storage::PostgresFeedOptions feed_options;
  feed_options.log_warning = [](std::string_view message) {
    log::Warning(std::string(message));  // already names the feed
  };
  out.revocation_feed = std::make_unique<storage::PostgresRevocationFeed>(options, feed_options);
  out.token_store = *std::move(store);
  if (managed_keys) {
    absl::StatusOr<std::unique_ptr<storage::PostgresKeyStore>> key_store =
        storage::PostgresKeyStore::Connect(options);
    if (!key_store.ok()) return key_store.status();
    out.key_store = *std::move(key_store);
    storage::PostgresFeedOptions key_feed_options;
    key_feed_options.log_warning = [](std::string_view message) {
      log::Warning(std::string(message));
    };
    out.key_feed = std::make_unique<storage::PostgresKeyChangeFeed>(options, key_feed_options);
  }
  return out;
}

}  // namespace

absl::StatusOr<Storage> OpenStorage(const StoreSpec& spec, const storage::PostgresOptions& options,
                                    bool managed_keys) {
  return spec.memory ? OpenMemory(managed_keys) : OpenPostgres(options, managed_keys);
}

}  // namespace tokend::server
