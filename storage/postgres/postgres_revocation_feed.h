#pragma once

#include <memory>

#include "absl/status/status.h"
#include "storage/postgres/feed_options.h"
#include "storage/postgres/postgres_options.h"
#include "storage/token_store.h"

namespace tokend::storage {

namespace pg {
class ChannelListener;
}

// A RevocationFeed on PostgreSQL LISTEN/NOTIFY (channel tokend_revocations): a decoder of
// revocation payloads on a pg::ChannelListener (channel_listener.h), which owns the dedicated
// connection (options.dsn, connect_timeout and statement_timeout as the store's; pool_size and
// acquire_timeout are unused), the reconnection with backoff, the liveness ping and the stats.
// Guarantees: delivers, from the listener's thread, every revocation committed by any replica
// while it is connected; after losing the connection it reconnects and then calls on_gap, so
// the caller reloads the full list; Stop() returns within about poll_interval (plus a
// connect_timeout if a reconnection is under way). Payloads are parsed strictly
// (revocation_payload.h); malformed ones are counted, logged without their content and
// ignored. Does not deduplicate. Start() may be called again after it failed; Stop() must not
// be called from a callback. Thread-safe.
class PostgresRevocationFeed : public RevocationFeed {
 public:
  using Stats = PostgresFeedStats;

  explicit PostgresRevocationFeed(PostgresOptions options, PostgresFeedOptions feed_options = {});
  PostgresRevocationFeed(const PostgresRevocationFeed&) = delete;
  PostgresRevocationFeed& operator=(const PostgresRevocationFeed&) = delete;
  ~PostgresRevocationFeed() override;

  // Connects and LISTENs before returning, so revocations committed after Start() returns are
  // delivered. UNAVAILABLE (nothing started; call again later) if the database is unreachable;
  // FAILED_PRECONDITION if already started; INVALID_ARGUMENT without on_revocation.
  absl::Status Start(Callbacks callbacks) override;
  void Stop() override;

  Stats stats() const;

 private:
  std::unique_ptr<pg::ChannelListener> listener_;
};

}  // namespace tokend::storage
