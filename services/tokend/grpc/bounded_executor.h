#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace tokend::grpc {

// A fixed pool of worker threads with a bounded queue, for work that may block on the
// database. Sized like the connection pool, so callers never wait on threads that only wait on
// connections. TrySubmit never blocks: it accepts a task when a worker is idle or fewer than
// `max_queued` tasks are waiting, and otherwise refuses (the caller answers RESOURCE_EXHAUSTED)
// rather than letting the backlog, and the latency, grow without bound.
// Thread-safe. Shutdown() (also run by the destructor) runs every task already accepted, then
// joins the workers; later submissions are refused.
class BoundedExecutor {
 public:
  BoundedExecutor(int num_threads, size_t max_queued);
  ~BoundedExecutor();
  BoundedExecutor(const BoundedExecutor&) = delete;
  BoundedExecutor& operator=(const BoundedExecutor&) = delete;

  // Queues `task`; false when the queue is full or the executor is shut down.
  bool TrySubmit(std::function<void()> task);

  void Shutdown();

 private:
  void WorkerLoop();

  const size_t max_queued_;
  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  int idle_workers_ ABSL_GUARDED_BY(mu_) = 0;  // waiting for a task
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  std::once_flag join_once_;
  std::vector<std::thread> workers_;  // written only by the constructor and the joining call
};

}  // namespace tokend::grpc
