#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "storage/postgres/postgres_options.h"
#include "storage/token_store.h"

namespace tokend::storage {

// Tuning of PostgresRevocationFeed; the defaults suit production.
struct PostgresFeedOptions {
  // How long one wait for a notification lasts: bounds how long Stop() takes.
  absl::Duration poll_interval = absl::Milliseconds(200);
  // Reconnection backoff: doubles from initial to max while the database stays away.
  absl::Duration initial_backoff = absl::Milliseconds(50);
  absl::Duration max_backoff = absl::Seconds(1);
  // After this long without traffic the listening connection is probed with a query, so a
  // silently dead connection is noticed (and reported as a gap) rather than trusted.
  absl::Duration liveness_interval = absl::Seconds(5);
  // Where warnings go (a line without secrets or payload content); stderr when empty.
  std::function<void(std::string_view)> log_warning;
};

// A RevocationFeed on PostgreSQL LISTEN/NOTIFY (channel tokend_revocations), on its own
// dedicated connection (options.dsn, connect_timeout and statement_timeout as the store's;
// pool_size and acquire_timeout are unused).
// Guarantees: delivers, from its own thread, every revocation committed by any replica while
// it is connected; after losing the connection it reconnects with backoff (capped at
// max_backoff) and then calls on_gap, so the caller reloads the full list; Stop() returns within
// about poll_interval (plus a connect_timeout if a reconnection is under way). Payloads are
// parsed strictly (revocation_payload.h); malformed ones are counted, logged without their
// content and ignored. Does not deduplicate. Start() may be called again after it failed;
// Stop() must not be called from a callback. Thread-safe.
class PostgresRevocationFeed : public RevocationFeed {
 public:
  struct Stats {
    int64_t delivered = 0;
    int64_t malformed = 0;
    int64_t reconnects = 0;  // successful reconnections, each followed by on_gap
    bool connected = false;
  };

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
  class Listener;  // the libpqxx side, in the .cc file

  absl::Status Connect();  // sets listener_
  void Run();
  void Deliver(std::string_view payload);
  void Warn(std::string_view message) const;
  // Waits `duration` or until Stop(); true if stopping.
  bool SleepUnlessStopping(absl::Duration duration);
  bool StoppingLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; }

  const PostgresOptions options_;
  const PostgresFeedOptions feed_options_;
  Callbacks callbacks_;                 // written by Start before the thread exists
  std::unique_ptr<Listener> listener_;  // owned by Start, then by the thread
  std::thread thread_;

  mutable absl::Mutex mu_;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  std::atomic<int64_t> delivered_{0};
  std::atomic<int64_t> malformed_{0};
  std::atomic<int64_t> reconnects_{0};
  std::atomic<bool> connected_{false};
};

}  // namespace tokend::storage
