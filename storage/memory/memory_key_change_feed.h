#pragma once

#include <functional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "storage/key_store.h"

namespace tokend::storage {

class MemoryKeyChangeFeed;
class MemoryKeyStore;

// Reports the changes committed to one MemoryKeyStore, from its own thread (so a callback may
// call back into the store). Changes that arrive while a callback runs are coalesced into one
// more call. Never reports a gap. Start() once; Stop() (or the destructor) joins the thread.
// The store must outlive the feed. Thread-safe.
class MemoryKeyChangeFeed : public KeyChangeFeed {
 public:
  explicit MemoryKeyChangeFeed(MemoryKeyStore& store) : store_(store) {}
  MemoryKeyChangeFeed(const MemoryKeyChangeFeed&) = delete;
  MemoryKeyChangeFeed& operator=(const MemoryKeyChangeFeed&) = delete;
  ~MemoryKeyChangeFeed() override;

  // FAILED_PRECONDITION if already started, INVALID_ARGUMENT without a callback.
  absl::Status Start(std::function<void()> on_change) override;
  void Stop() override;

 private:
  friend class MemoryKeyStore;

  void Signal() ABSL_LOCKS_EXCLUDED(mu_);  // called by the store
  void Run();
  bool HasWorkLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || pending_; }

  MemoryKeyStore& store_;
  std::function<void()> on_change_;  // written before the thread starts
  std::thread thread_;
  absl::Mutex mu_;
  bool pending_ ABSL_GUARDED_BY(mu_) = false;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace tokend::storage
