#include "util/background_loop.h"

#include <pthread.h>

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

void ConditionWaiter::Clear() {
  absl::MutexLock lock(&mu_);
  notified_ = false;
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
  // The thread may have left before it consumed the notification above; a restarted loop must
  // not take it for a Wake().
  waiter_->Clear();
  running_.store(false);
}

void BackgroundLoop::Run() {
  if (!name_.empty()) {
    // Best effort, for top -H and debuggers; Linux allows 15 characters.
    pthread_setname_np(pthread_self(), name_.substr(0, 15).c_str());
  }
  absl::Duration wait = first_wait_;
  while (true) {
    if (wait > absl::ZeroDuration()) waiter_->WaitFor(wait);
    // Clear before checking stopping_: Stop() sets stopping_ before it notifies, so either this
    // check sees it, or the notification arrives after the Clear and ends the next wait.
    waiter_->Clear();
    if (stopping_.load()) return;
    wait = task_();
  }
}

}  // namespace tokend::util
