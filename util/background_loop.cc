#include "util/background_loop.h"

#include <utility>

namespace tokend::util {

bool ConditionWaiter::WaitFor(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  const bool notified = mu_.AwaitWithTimeout(absl::Condition(&notified_), timeout);
  notified_ = false;
  return notified;
}

void ConditionWaiter::Notify() {
  absl::MutexLock lock(&mu_);
  notified_ = true;
}

BackgroundLoop::BackgroundLoop(Options options, Task task)
    : name_(std::move(options.name)),
      first_wait_(options.first_wait),
      waiter_(options.waiter != nullptr ? std::move(options.waiter)
                                        : std::make_unique<ConditionWaiter>()),
      task_(std::move(task)) {}

BackgroundLoop::BackgroundLoop(Options options, absl::Duration interval, std::function<void()> task)
    : BackgroundLoop(std::move(options), [interval, task = std::move(task)] {
        task();
        return interval;
      }) {}

BackgroundLoop::~BackgroundLoop() { Stop(); }

void BackgroundLoop::Start() {
  absl::MutexLock lock(&thread_mu_);
  if (thread_.joinable()) return;
  stopping_.store(false);
  running_.store(true);
  thread_ = std::thread([this] { Run(); });
}

void BackgroundLoop::Wake() { waiter_->Notify(); }

void BackgroundLoop::Stop() {
  absl::MutexLock lock(&thread_mu_);
  if (!thread_.joinable()) return;
  stopping_.store(true);
  waiter_->Notify();
  thread_.join();
  running_.store(false);
}

void BackgroundLoop::Run() {
  absl::Duration wait = first_wait_;
  while (!stopping_.load()) {
    if (wait > absl::ZeroDuration()) waiter_->WaitFor(wait);
    if (stopping_.load()) break;
    wait = task_();
  }
}

}  // namespace tokend::util
