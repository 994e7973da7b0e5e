#pragma once

#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "util/background_loop.h"

namespace tokend::testing {

// A LoopWaiter whose waits end only when the test says so: Elapse() ends the current wait as if
// its timeout had passed, Notify() (the loop's Wake/Stop) as a wake-up. A test drives a
// BackgroundLoop run by run, with no sleeps: AwaitWaits(n) blocks until the loop is parked in
// its n-th wait (or a later one), i.e. has finished every run before it and nothing pending
// will start another. Thread-safe.
class ManualWaiter final : public util::LoopWaiter {
 public:
  bool WaitFor(absl::Duration timeout) override {
    absl::MutexLock lock(&mu_);
    timeouts_.push_back(timeout);
    ++waits_;
    // Seen by others only if Await really blocks (a pending Notify/Elapse returns without
    // releasing mu_), so AwaitWaits never mistakes a wait that ends at once for a parked loop.
    parked_ = true;
    mu_.Await(absl::Condition(this, &ManualWaiter::WaitOver));
    parked_ = false;
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
  void Clear() override {
    absl::MutexLock lock(&mu_);
    notified_ = false;
  }

  // Ends one wait as a timeout (the current one, or the next one if none is in progress).
  void Elapse() {
    absl::MutexLock lock(&mu_);
    ++elapsed_;
  }
  // Blocks until WaitFor has been entered `n` times in all and the loop is blocked in it.
  // Returns false if that has not happened within `bound` of real time: a safety net that turns
  // a broken loop into a failed assertion instead of a hung test, never a timing the test
  // relies on.
  bool AwaitWaits(int n, absl::Duration bound = absl::Seconds(30)) {
    absl::MutexLock lock(&mu_);
    awaited_ = n;
    return mu_.AwaitWithTimeout(absl::Condition(this, &ManualWaiter::ReachedAwaited), bound);
  }
  // Blocks until a Notify() (Wake or Stop) is pending, not yet consumed by a wait; false after
  // `bound` of real time, as above.
  bool AwaitNotified(absl::Duration bound = absl::Seconds(30)) {
    absl::MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(absl::Condition(&notified_), bound);
  }
  // How many times WaitFor has been entered.
  int waits() const {
    absl::MutexLock lock(&mu_);
    return waits_;
  }
  // The timeout of every wait so far, in order.
  std::vector<absl::Duration> timeouts() const {
    absl::MutexLock lock(&mu_);
    return timeouts_;
  }

 private:
  bool WaitOver() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return notified_ || elapsed_ > 0; }
  bool ReachedAwaited() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return waits_ >= awaited_ && parked_ && !WaitOver();
  }

  mutable absl::Mutex mu_;
  bool notified_ ABSL_GUARDED_BY(mu_) = false;
  int elapsed_ ABSL_GUARDED_BY(mu_) = 0;
  int waits_ ABSL_GUARDED_BY(mu_) = 0;
  bool parked_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<absl::Duration> timeouts_ ABSL_GUARDED_BY(mu_);
  int awaited_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace tokend::testing
