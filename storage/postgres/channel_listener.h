#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "storage/postgres/feed_options.h"
#include "storage/postgres/postgres_options.h"
#include "util/background_loop.h"
#include "util/clock.h"

namespace tokend::storage::pg {

// One LISTENing session on a dedicated connection: the seam between ChannelListener's loop and
// libpqxx, so the loop can be tested with a fake. Used by one thread at a time.
class ListenSession {
 public:
  virtual ~ListenSession() = default;
  // Waits up to `wait` for notifications and hands each payload to the session's handler (from
  // inside this call); returns how many arrived. The mapped error (postgres_error.h) once the
  // connection is lost.
  virtual absl::StatusOr<int> Poll(absl::Duration wait) = 0;
  // One round trip, so a silently dead connection shows up as an error.
  virtual absl::Status Ping() = 0;
};

// Opens a session that LISTENs on `channel` and hands every payload to `on_payload`; the
// mapped connection error otherwise.
using ListenSessionFactory = std::function<absl::StatusOr<std::unique_ptr<ListenSession>>(
    const std::string& channel, std::function<void(std::string_view)> on_payload)>;

// Sessions on PostgreSQL through libpqxx: ConnectionStringFor(options) (connect_timeout, TCP
// keepalives), the session's statement_timeout, libpqxx's silent reactivation disabled (it
// would re-LISTEN without telling anyone about the gap), and the LISTEN checked to have taken
// effect. pool_size and acquire_timeout are unused.
ListenSessionFactory PostgresListenSessions(PostgresOptions options);

// Listens on one PostgreSQL NOTIFY channel, for the change feeds, which only decode payloads.
// Guarantees: Start() connects and LISTENs before it returns, so whatever is committed after it
// returns is heard; payloads are handed, in order, from one background thread
// (util::BackgroundLoop) to on_payload; when the connection is lost (or a liveness ping after a
// quiet liveness_interval fails) it reconnects with backoff doubling from initial_backoff to
// max_backoff, and after every successful reconnection calls on_gap, since notifications sent
// meanwhile are lost; a payload on_payload refuses is counted as malformed and logged by its
// size only (its content is untrusted). Stop() returns within about poll_interval (plus a
// connect_timeout if a reconnection is under way). Does not deduplicate, and does not check
// who sent a notification. Start() may be called again after it failed, not after Stop();
// Start/Stop must not be called from a callback. Thread-safe.
class ChannelListener {
 public:
  struct Callbacks {
    // Decodes and delivers one payload; false if it is malformed. Required.
    std::function<bool(std::string_view payload)> on_payload;
    // After every reconnection: the caller reloads what it may have missed. Optional.
    std::function<void()> on_gap;
  };

  struct Options {
    std::string name;     // what its warnings and errors are about, e.g. "revocation feed"
    std::string channel;  // the NOTIFY channel
    PostgresFeedOptions feed;
    // Tests only. The waiter of the backoff waits (null: a real one) and the clock of the
    // liveness interval (null: a monotonic clock; only differences of its readings are used).
    std::unique_ptr<util::LoopWaiter> waiter;
    const util::Clock* clock = nullptr;
  };

  ChannelListener(Options options, ListenSessionFactory open_session);
  // On PostgreSQL (PostgresListenSessions(postgres)), as the feeds use it.
  static std::unique_ptr<ChannelListener> OnPostgres(std::string name, std::string channel,
                                                     PostgresOptions postgres,
                                                     PostgresFeedOptions feed);
  ChannelListener(const ChannelListener&) = delete;
  ChannelListener& operator=(const ChannelListener&) = delete;
  ~ChannelListener();  // stops

  // UNAVAILABLE (or the connection's error) when the first connection fails: nothing runs and
  // Start() may be called again; FAILED_PRECONDITION if already started or stopped;
  // INVALID_ARGUMENT without on_payload.
  absl::Status Start(Callbacks callbacks);
  void Stop();

  PostgresFeedStats stats() const;

 private:
  enum class State { kIdle, kRunning, kStopped };

  absl::Duration Step();   // one turn of the loop; the wait before the next
  absl::Status Connect();  // sets session_
  void Receive(std::string_view payload);
  void Warn(std::string_view message) const;

  const std::string name_;
  const std::string channel_;
  const PostgresFeedOptions feed_;
  const ListenSessionFactory open_session_;
  const std::unique_ptr<util::Clock> own_clock_;  // when none was given
  const util::Clock& clock_;

  // Written by Start before the loop runs, then used by the loop's thread only, until Stop has
  // joined it (BackgroundLoop's Start and Stop order the accesses).
  Callbacks callbacks_;
  std::unique_ptr<ListenSession> session_;
  absl::Time last_traffic_;
  absl::Duration backoff_;

  std::atomic<int64_t> delivered_{0};
  std::atomic<int64_t> malformed_{0};
  std::atomic<int64_t> pings_{0};
  std::atomic<int64_t> reconnects_{0};
  std::atomic<bool> connected_{false};

  absl::Mutex lifecycle_mu_;  // held through Start and Stop, so they never interleave
  State state_ ABSL_GUARDED_BY(lifecycle_mu_) = State::kIdle;
  // Last: its thread is joined before anything it uses is destroyed.
  util::BackgroundLoop loop_;
};

}  // namespace tokend::storage::pg
