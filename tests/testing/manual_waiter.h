#pragma once

#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "util/background_loop.h"

namespace tokend::testing {

// A LoopWaiter whose waits end only when the test says so: Elapse() ends the current wait as if
// its timeout had passed, Notify() (the loop's Wake/Stop) as a wake-up. A test drives a
// BackgroundLoop run by run, with no sleeps: AwaitWaits(n) blocks until the loop has entered
// its n-th wait, i.e. finished every run before it. Thread-safe.
class ManualWaiter final : public util::LoopWaiter {
 public:
  bool WaitFor(absl::Duration timeout) override {
    absl::MutexLock lock(&mu_);
    timeouts_.push_back(timeout);
    ++waits_;
    mu_.Await(absl::Condition(this, &ManualWaiter::WaitOver));
    if (notified_) {
      notified_ = false;
      return true;
    }
    --elapsed_;
    return false;
  }
  void Notify() override {
    absl::MutexLock lock(&mu_);
    notified_ = true;
  }

  // Ends one wait as a timeout (the current one, or the next one if none is in progress).
  void Elapse() {
    absl::MutexLock lock(&mu_);
    ++elapsed_;
  }
  // Blocks until WaitFor has been entered `n` times in all.
  void AwaitWaits(int n) {
    absl::MutexLock lock(&mu_);
    awaited_ = n;
    mu_.Await(absl::Condition(this, &ManualWaiter::ReachedAwaited));
  }
  std::vector<absl::Duration> timeouts() const {
    absl::MutexLock lock(&mu_);
    return timeouts_;
  }

 private:
  bool WaitOver() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return notified_ || elapsed_ > 0; }
  bool ReachedAwaited() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return waits_ >= awaited_; }

  mutable absl::Mutex mu_;
  bool notified_ ABSL_GUARDED_BY(mu_) = false;
  int elapsed_ ABSL_GUARDED_BY(mu_) = 0;
  int waits_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<absl::Duration> timeouts_ ABSL_GUARDED_BY(mu_);
  int awaited_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace tokend::testing
