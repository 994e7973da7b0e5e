#pragma once

#include <functional>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "storage/key_store.h"
#include "util/background_loop.h"

namespace tokend::storage {

class MemoryKeyChangeFeed;
class MemoryKeyStore;

// Reports the changes committed to one MemoryKeyStore, from its own thread (so a callback may
// call back into the store). Changes that arrive while a callback runs are coalesced into one
// more call. Never reports a gap. Start() once; Stop() (or the destructor) joins the thread;
// Stop() must not be called from inside the callback. The store must outlive the feed.
// Thread-safe.
class MemoryKeyChangeFeed : public KeyChangeFeed {
 public:
  explicit MemoryKeyChangeFeed(MemoryKeyStore& store);
  MemoryKeyChangeFeed(const MemoryKeyChangeFeed&) = delete;
  MemoryKeyChangeFeed& operator=(const MemoryKeyChangeFeed&) = delete;
  ~MemoryKeyChangeFeed() override;

  // FAILED_PRECONDITION if already started, INVALID_ARGUMENT without a callback.
  absl::Status Start(std::function<void()> on_change) override;
  void Stop() override;

 private:
  friend class MemoryKeyStore;

  void Signal();  // called by the store, with its lock held

  MemoryKeyStore& store_;
  std::function<void()> on_change_;  // written before the loop starts
  absl::Mutex mu_;                   // serializes Start and Stop
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // One on_change_ call per run, a run per Signal (Wake); last: stopped before the rest goes.
  util::BackgroundLoop loop_;
};

}  // namespace tokend::storage
