#pragma once

#include <deque>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "storage/revocation.h"
#include "storage/token_store.h"

namespace tokend::storage {

class MemoryTokenStore;

// Delivers the revocations committed to one MemoryTokenStore, in commit order, from its own
// thread. Never reports a gap (nothing can be lost in process). Start() once; Stop() (or the
// destructor) stops delivery and joins the thread before returning; revocations still queued
// are dropped. Stop() must not be called from inside a callback. The store must outlive the
// feed. Thread-safe: the store may publish from any thread.
class MemoryRevocationFeed : public RevocationFeed {
 public:
  explicit MemoryRevocationFeed(MemoryTokenStore& store) : store_(store) {}
  MemoryRevocationFeed(const MemoryRevocationFeed&) = delete;
  MemoryRevocationFeed& operator=(const MemoryRevocationFeed&) = delete;
  ~MemoryRevocationFeed() override;

  // FAILED_PRECONDITION if already started (or stopped), INVALID_ARGUMENT without on_revocation.
  absl::Status Start(Callbacks callbacks) override;
  void Stop() override;

 private:
  friend class MemoryTokenStore;

  // Called by the store with its lock held.
  void Enqueue(const Revocation& revocation) ABSL_LOCKS_EXCLUDED(mu_);
  void Run();
  bool HasWorkLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopping_ || !queue_.empty();
  }

  MemoryTokenStore& store_;
  Callbacks callbacks_;  // written before the thread starts, then read only by it
  std::thread thread_;
  absl::Mutex mu_;
  std::deque<Revocation> queue_ ABSL_GUARDED_BY(mu_);
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace tokend::storage
