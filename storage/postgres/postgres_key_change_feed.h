#pragma once

#include <functional>
#include <memory>

#include "absl/status/status.h"
#include "storage/key_store.h"
#include "storage/postgres/feed_options.h"
#include "storage/postgres/postgres_options.h"

namespace tokend::storage {

namespace pg {
class ChannelListener;
}

// A KeyChangeFeed on PostgreSQL LISTEN/NOTIFY (channel tokend_keys), on a pg::ChannelListener
// (channel_listener.h) tuned by the same PostgresFeedOptions as the revocation feed.
// Guarantees: calls on_change, from the listener's thread, after every notification (payloads
// are ignored: listeners reload, so a forged NOTIFY costs one reload and can change nothing);
// after losing the connection it reconnects with backoff and then calls on_change, because
// changes may have been missed meanwhile; Stop() returns within about poll_interval (plus a
// connect_timeout if a reconnection is under way). Start() may be called again after it
// failed. Thread-safe.
class PostgresKeyChangeFeed : public KeyChangeFeed {
 public:
  using Stats = PostgresFeedStats;  // malformed is always 0: payloads are not read

  explicit PostgresKeyChangeFeed(PostgresOptions options, PostgresFeedOptions feed_options = {});
  PostgresKeyChangeFeed(const PostgresKeyChangeFeed&) = delete;
  PostgresKeyChangeFeed& operator=(const PostgresKeyChangeFeed&) = delete;
  ~PostgresKeyChangeFeed() override;

  // Connects and LISTENs before returning. UNAVAILABLE (nothing started) if the database is
  // unreachable; FAILED_PRECONDITION if already started; INVALID_ARGUMENT without a callback.
  absl::Status Start(std::function<void()> on_change) override;
  void Stop() override;

  Stats stats() const;

 private:
  std::unique_ptr<pg::ChannelListener> listener_;
};

}  // namespace tokend::storage
