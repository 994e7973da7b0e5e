#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "storage/token_store.h"
#include "util/background_loop.h"
#include "util/clock.h"

namespace tokend::core {

// The store's janitor: deletes expired revocations and refresh tokens of expired families in
// small batches, so tables do not grow without bound (Hydra's 24 GB table, ory/hydra#3079).
// Every replica may run one; deletes of the same rows are idempotent. A failed pass is logged
// and retried at the next interval. Thread-safe; Start/Stop from the owning thread. The first
// pass runs one interval after Start(); Start() after Stop() does nothing.
class StorePruner {
 public:
  struct Options {
    absl::Duration interval = absl::Minutes(1);
    int batch_size = 1000;
    // Bounds one pass, so a huge backlog cannot monopolise a database connection.
    int max_batches_per_pass = 20;
  };

  // `waiter` paces the background pass (tests inject one); null: real time.
  StorePruner(storage::TokenStore& store, const util::Clock& clock, Options options,
              std::unique_ptr<util::LoopWaiter> waiter = nullptr);
  StorePruner(const StorePruner&) = delete;
  StorePruner& operator=(const StorePruner&) = delete;
  ~StorePruner();

  // Runs a pass every interval on a background thread (not at all if interval <= 0).
  void Start();
  void Stop();

  // One pass now, on the calling thread: batches until one deletes fewer than batch_size rows
  // or max_batches_per_pass is reached. Returns the number of rows deleted.
  absl::StatusOr<int64_t> PruneOnce();

 private:
  void RunPass();

  storage::TokenStore& store_;
  const util::Clock& clock_;
  const Options options_;
  std::atomic<bool> stopped_{false};
  util::BackgroundLoop loop_;  // last: stopped before the members its task uses go
};

}  // namespace tokend::core
