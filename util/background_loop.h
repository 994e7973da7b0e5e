#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace tokend::util {

// How a BackgroundLoop waits between two runs. The default waits on a condition variable with
// a timeout; tests inject a ManualWaiter (tests/testing) that returns only when told, so a test
// drives the loop run by run with no sleeps. Thread-safe.
class LoopWaiter {
 public:
  virtual ~LoopWaiter() = default;
  // Blocks until Notify() was called since the last return, or `timeout` has passed.
  // Returns true when notified.
  virtual bool WaitFor(absl::Duration timeout) = 0;
  // Ends the current (or the next) WaitFor at once. Sticky until one WaitFor consumes it.
  virtual void Notify() = 0;
  // Drops a pending notification, if any (the loop calls it before each run: that run answers
  // every Wake() made so far).
  virtual void Clear() = 0;
};

// The real waiter: absl::Mutex::AwaitWithTimeout on a notified flag.
class ConditionWaiter final : public LoopWaiter {
 public:
  bool WaitFor(absl::Duration timeout) override;
  void Notify() override;
  void Clear() override;

 private:
  absl::Mutex mu_;
  bool notified_ ABSL_GUARDED_BY(mu_) = false;
};

// One background thread that runs a task every interval, or sooner when woken. Replaces the
// hand-written thread + mutex + condition loops: Start() launches, Wake() asks for a run now,
// Stop() asks the thread to end and joins it (a run in progress finishes first).
//
// Guarantees: the task never runs concurrently with itself; every Wake() is followed by a run
// that starts after it (several Wake()s before that run coalesce into it), unless Stop() comes
// first; a Wake() before Start() makes the first run happen at once. Stop() ends a wait at once
// and no run starts after it returns. After Stop(), Start() may launch the loop again (first_wait
// applies again; Wake()s made before Stop() returned are dropped). Start/Stop are idempotent,
// may be called from any thread but the loop's own (never from the task: Stop would join
// itself), and are serialized; Wake() is safe from any thread, including the task. The
// destructor stops.
class BackgroundLoop {
 public:
  // Runs once; returns how long to wait before the next run (zero or less: run again at once;
  // InfiniteDuration: until woken).
  using Task = std::function<absl::Duration()>;

  struct Options {
    std::string name;  // names the thread (its first 15 characters, as Linux allows)
    // How long after Start() the first run happens (zero: at once; InfiniteDuration: at the
    // first Wake()).
    absl::Duration first_wait = absl::ZeroDuration();
    // Injected waiter (tests); null: a ConditionWaiter.
    std::unique_ptr<LoopWaiter> waiter = nullptr;
  };

  BackgroundLoop(Options options, Task task);
  // A fixed period.
  BackgroundLoop(Options options, absl::Duration interval, std::function<void()> task);
  BackgroundLoop(const BackgroundLoop&) = delete;
  BackgroundLoop& operator=(const BackgroundLoop&) = delete;
  ~BackgroundLoop();

  void Start();
  // Requests a run as soon as the current wait (or run) ends. Safe from any thread, including
  // the task itself (then it runs again right after).
  void Wake();
  void Stop();

  // Between Start() and Stop().
  bool running() const { return running_.load(); }
  const std::string& name() const { return name_; }

 private:
  void Run();

  const std::string name_;
  const absl::Duration first_wait_;
  const std::unique_ptr<LoopWaiter> waiter_;
  const Task task_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> running_{false};
  absl::Mutex thread_mu_;  // serializes Start/Stop
  std::thread thread_ ABSL_GUARDED_BY(thread_mu_);
};

}  // namespace tokend::util
