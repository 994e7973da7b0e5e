#pragma once

#include <cstdint>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "storage/token_store.h"
#include "util/clock.h"

namespace tokend::core {

// The store's janitor: deletes expired revocations and refresh tokens of expired families in
// small batches, so tables do not grow without bound (Hydra's 24 GB table, ory/hydra#3079).
// Every replica may run one; deletes of the same rows are idempotent. A failed pass is logged
// and retried at the next interval. Thread-safe; Start/Stop from the owning thread.
class StorePruner {
 public:
  struct Options {
    absl::Duration interval = absl::Minutes(1);
    int batch_size = 1000;
    // Bounds one pass, so a huge backlog cannot monopolise a database connection.
    int max_batches_per_pass = 20;
  };

  StorePruner(storage::TokenStore& store, const util::Clock& clock, Options options);
  StorePruner(const StorePruner&) = delete;
  StorePruner& operator=(const StorePruner&) = delete;
  ~StorePruner();

  void Start();
  void Stop();

  // One pass now, on the calling thread: batches until one deletes fewer than batch_size rows
  // or max_batches_per_pass is reached. Returns the number of rows deleted.
  absl::StatusOr<int64_t> PruneOnce();

 private:
  void Run();
  bool IsStopping() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; }

  storage::TokenStore& store_;
  const util::Clock& clock_;
  const Options options_;
  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace tokend::core
