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
#include "storage/key_store.h"
#include "storage/postgres/postgres_options.h"
#include "storage/postgres/postgres_revocation_feed.h"

namespace tokend::storage {

// A KeyChangeFeed on PostgreSQL LISTEN/NOTIFY (channel tokend_keys), on its own dedicated
// connection (options.dsn with its connect_timeout and statement_timeout). Tuned by the same
// PostgresFeedOptions as the revocation feed.
// Guarantees: calls on_change, from its own thread, after every notification (payloads are
// ignored: listeners reload, so a forged NOTIFY costs one reload and can change nothing); after
// losing the connection it reconnects with backoff and then calls on_change, because changes may
// have been missed meanwhile; Stop() returns within about poll_interval (plus a connect_timeout
// if a reconnection is under way). Start() may be called again after it failed. Thread-safe.
class PostgresKeyChangeFeed : public KeyChangeFeed {
 public:
  struct Stats {
    int64_t notifications = 0;
    int64_t reconnects = 0;
    bool connected = false;
  };

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
  class Listener;  // the libpqxx side, in the .cc file

  absl::Status Connect();
  void Run();
  void Warn(std::string_view message) const;
  bool SleepUnlessStopping(absl::Duration duration);
  bool StoppingLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; }

  const PostgresOptions options_;
  const PostgresFeedOptions feed_options_;
  std::function<void()> on_change_;     // written by Start before the thread exists
  std::unique_ptr<Listener> listener_;  // owned by Start, then by the thread
  std::thread thread_;

  mutable absl::Mutex mu_;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  std::atomic<int64_t> notifications_{0};
  std::atomic<int64_t> reconnects_{0};
  std::atomic<bool> connected_{false};
};

}  // namespace tokend::storage
