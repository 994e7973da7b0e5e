#include "services/tokend/grpc/bounded_executor.h"

#include <utility>

namespace tokend::grpc {

BoundedExecutor::BoundedExecutor(int num_threads, size_t max_queued) : max_queued_(max_queued) {
  if (num_threads < 1) num_threads = 1;
  workers_.reserve(static_cast<size_t>(num_threads));
  for (int i = 0; i < num_threads; ++i) workers_.emplace_back([this] { WorkerLoop(); });
  // Every worker is ready before the first TrySubmit, so the capacity is exact from the start.
  absl::MutexLock lock(&mu_);
  auto all_idle = [this, num_threads]()
                      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return idle_workers_ == num_threads; };
  mu_.Await(absl::Condition(&all_idle));
}

BoundedExecutor::~BoundedExecutor() { Shutdown(); }

bool BoundedExecutor::TrySubmit(std::function<void()> task) {
  absl::MutexLock lock(&mu_);
  // Idle workers take a queued task at once, so they add to the capacity.
  if (shutting_down_ || queue_.size() >= max_queued_ + static_cast<size_t>(idle_workers_)) {
    return false;
  }
  queue_.push_back(std::move(task));
  return true;
}

void BoundedExecutor::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    shutting_down_ = true;
  }
  std::call_once(join_once_, [this] {
    for (std::thread& worker : workers_) worker.join();
  });
}

void BoundedExecutor::WorkerLoop() {
  while (true) {
    std::function<void()> task;
    {
      absl::MutexLock lock(&mu_);
      auto has_work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return shutting_down_ || !queue_.empty();
      };
      ++idle_workers_;
      mu_.Await(absl::Condition(&has_work));
      --idle_workers_;
      if (queue_.empty()) return;  // shutting down and drained
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

}  // namespace tokend::grpc
