#pragma once

#include <deque>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "storage/revocation.h"
#include "storage/token_store.h"
#include "util/background_loop.h"

namespace tokend::storage {

class MemoryTokenStore;

// Delivers the revocations committed to one MemoryTokenStore, in commit order, from its own
// thread. Never reports a gap (nothing can be lost in process). Start() once; Stop() (or the
// destructor) stops delivery and joins the thread before returning; revocations still queued
// are dropped. Stop() must not be called from inside a callback. The store must outlive the
// feed. Thread-safe: the store may publish from any thread.
class MemoryRevocationFeed : public RevocationFeed {
 public:
  explicit MemoryRevocationFeed(MemoryTokenStore& store);
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
  // The loop's task: delivers the queue until it is empty (or delivery stops).
  absl::Duration DeliverQueued() ABSL_LOCKS_EXCLUDED(mu_);

  MemoryTokenStore& store_;
  Callbacks callbacks_;     // written before the loop starts, then read only by it
  absl::Mutex control_mu_;  // serializes Start and Stop; taken before the store's lock
  bool started_ ABSL_GUARDED_BY(control_mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(control_mu_) = false;
  absl::Mutex mu_;  // taken under the store's lock (Enqueue)
  std::deque<Revocation> queue_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;  // Stop() began: enqueue and deliver nothing more
  // A run per Enqueue (Wake); last: stopped before the members its task uses go.
  util::BackgroundLoop loop_;
};

}  // namespace tokend::storage
