#include "util/background_loop.h"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "tests/testing/manual_waiter.h"

namespace tokend::util {
namespace {

using ::tokend::testing::ManualWaiter;

struct Driven {
  ManualWaiter* waiter;
  std::unique_ptr<BackgroundLoop> loop;
};

Driven MakeLoop(std::atomic<int>& runs, absl::Duration first_wait, absl::Duration period) {
  auto waiter = std::make_unique<ManualWaiter>();
  ManualWaiter* raw = waiter.get();
  BackgroundLoop::Options options;
  options.name = "test";
  options.first_wait = first_wait;
  options.waiter = std::move(waiter);
  auto loop = std::make_unique<BackgroundLoop>(std::move(options), [&runs, period] {
    runs.fetch_add(1);
    return period;
  });
  return {raw, std::move(loop)};
}

TEST(BackgroundLoopTest, RunsAtStartThenOncePerElapsedInterval) {
  std::atomic<int> runs{0};
  Driven d = MakeLoop(runs, absl::ZeroDuration(), absl::Seconds(5));
  d.loop->Start();
  d.waiter->AwaitWaits(1);
  EXPECT_EQ(runs.load(), 1);
  d.waiter->Elapse();
  d.waiter->AwaitWaits(2);
  EXPECT_EQ(runs.load(), 2);
  d.waiter->Elapse();
  d.waiter->AwaitWaits(3);
  EXPECT_EQ(runs.load(), 3);
  // Each wait asked for the period the task returned.
  for (absl::Duration t : d.waiter->timeouts()) EXPECT_EQ(t, absl::Seconds(5));
  d.loop->Stop();
  EXPECT_EQ(runs.load(), 3);
  EXPECT_FALSE(d.loop->running());
}

TEST(BackgroundLoopTest, FirstWaitDelaysTheFirstRun) {
  std::atomic<int> runs{0};
  Driven d = MakeLoop(runs, absl::Seconds(7), absl::Seconds(1));
  d.loop->Start();
  d.waiter->AwaitWaits(1);
  EXPECT_EQ(runs.load(), 0);
  EXPECT_EQ(d.waiter->timeouts().front(), absl::Seconds(7));
  d.waiter->Elapse();
  d.waiter->AwaitWaits(2);
  EXPECT_EQ(runs.load(), 1);
}

TEST(BackgroundLoopTest, WakeRunsBeforeTheIntervalEnds) {
  std::atomic<int> runs{0};
  Driven d = MakeLoop(runs, absl::InfiniteDuration(), absl::InfiniteDuration());
  d.loop->Start();
  d.waiter->AwaitWaits(1);
  EXPECT_EQ(runs.load(), 0);
  d.loop->Wake();
  d.waiter->AwaitWaits(2);
  EXPECT_EQ(runs.load(), 1);
  d.loop->Wake();
  d.waiter->AwaitWaits(3);
  EXPECT_EQ(runs.load(), 2);
}

TEST(BackgroundLoopTest, StopEndsAWaitAndJoinsWithoutAnotherRun) {
  std::atomic<int> runs{0};
  Driven d = MakeLoop(runs, absl::ZeroDuration(), absl::Hours(1));
  d.loop->Start();
  d.waiter->AwaitWaits(1);
  d.loop->Stop();
  EXPECT_EQ(runs.load(), 1);
  d.loop->Stop();  // idempotent
}

TEST(BackgroundLoopTest, RealWaiterRunsOnWake) {
  std::atomic<int> runs{0};
  BackgroundLoop::Options options;
  options.name = "real";
  options.first_wait = absl::InfiniteDuration();
  BackgroundLoop loop(std::move(options), absl::InfiniteDuration(), [&runs] { runs.fetch_add(1); });
  loop.Start();
  loop.Wake();
  // The real waiter returns as soon as the wake is seen; the test's timeout bounds this.
  while (runs.load() == 0) std::this_thread::yield();
  loop.Stop();
  EXPECT_GE(runs.load(), 1);
}

TEST(BackgroundLoopTest, DestructorStops) {
  std::atomic<int> runs{0};
  {
    Driven d = MakeLoop(runs, absl::ZeroDuration(), absl::Hours(1));
    d.loop->Start();
    d.waiter->AwaitWaits(1);
  }
  EXPECT_EQ(runs.load(), 1);
}

// A task whose first run blocks until released, so a test can act while a run is in progress.
struct BlockingFirstRun {
  absl::Notification entered;
  absl::Notification release;
  std::atomic<int> runs{0};
};

Driven MakeBlockingLoop(BlockingFirstRun& b, absl::Duration first_wait,
                        std::vector<absl::Duration> waits) {
  auto waiter = std::make_unique<ManualWaiter>();
  ManualWaiter* raw = waiter.get();
  BackgroundLoop::Options options;
  options.name = "blocking";
  options.first_wait = first_wait;
  options.waiter = std::move(waiter);
  auto loop = std::make_unique<BackgroundLoop>(std::move(options), [&b, waits] {
    const int run = b.runs.fetch_add(1);
    if (run == 0) {
      b.entered.Notify();
      b.release.WaitForNotification();
    }
    return run < static_cast<int>(waits.size()) ? waits[run] : waits.back();
  });
  return {raw, std::move(loop)};
}

TEST(BackgroundLoopTest, TheTaskChoosesEachWait) {
  std::atomic<int> runs{0};
  const std::vector<absl::Duration> waits = {absl::Seconds(1), absl::Seconds(2),
                                             absl::InfiniteDuration()};
  auto waiter = std::make_unique<ManualWaiter>();
  ManualWaiter* raw = waiter.get();
  BackgroundLoop loop({.name = "chooser", .waiter = std::move(waiter)}, [&runs, waits] {
    return waits[std::min<size_t>(runs.fetch_add(1), waits.size() - 1)];
  });
  loop.Start();
  ASSERT_TRUE(raw->AwaitWaits(1));
  raw->Elapse();
  ASSERT_TRUE(raw->AwaitWaits(2));
  raw->Elapse();
  ASSERT_TRUE(raw->AwaitWaits(3));
  EXPECT_EQ(raw->timeouts(), waits);
  EXPECT_EQ(runs.load(), 3);
}

TEST(BackgroundLoopTest, WakeBeforeStartRunsAtOnce) {
  std::atomic<int> runs{0};
  Driven d = MakeLoop(runs, absl::InfiniteDuration(), absl::Hours(1));
  d.loop->Wake();
  d.loop->Start();
  ASSERT_TRUE(d.waiter->AwaitWaits(1));
  EXPECT_EQ(runs.load(), 1);
  EXPECT_EQ(d.waiter->timeouts().back(), absl::Hours(1));
}

TEST(BackgroundLoopTest, WakesDuringARunCoalesceIntoOneMoreRun) {
  BlockingFirstRun b;
  Driven d = MakeBlockingLoop(b, absl::ZeroDuration(), {absl::Hours(1)});
  d.loop->Start();
  b.entered.WaitForNotification();
  d.loop->Wake();
  d.loop->Wake();
  d.loop->Wake();
  b.release.Notify();
  ASSERT_TRUE(d.waiter->AwaitWaits(2));
  EXPECT_EQ(b.runs.load(), 2);
}

TEST(BackgroundLoopTest, AWakeAnsweredByAnImmediateRunDoesNotCutTheNextWaitShort) {
  BlockingFirstRun b;
  // The first run asks to run again at once; that second run starts after the Wake, so it
  // answers it, and the hour-long wait after it must hold.
  Driven d = MakeBlockingLoop(b, absl::ZeroDuration(), {absl::ZeroDuration(), absl::Hours(1)});
  d.loop->Start();
  b.entered.WaitForNotification();
  d.loop->Wake();
  b.release.Notify();
  ASSERT_TRUE(d.waiter->AwaitWaits(1));
  EXPECT_EQ(b.runs.load(), 2);
  EXPECT_EQ(d.waiter->waits(), 1);
}

TEST(BackgroundLoopTest, StopDuringARunLetsItFinishAndARestartWaitsAgain) {
  BlockingFirstRun b;
  Driven d = MakeBlockingLoop(b, absl::InfiniteDuration(), {absl::Hours(1)});
  d.loop->Start();
  d.loop->Wake();
  b.entered.WaitForNotification();
  std::thread stopper([&d] { d.loop->Stop(); });
  ASSERT_TRUE(d.waiter->AwaitNotified());  // Stop() has asked the loop to end
  EXPECT_TRUE(d.loop->running()) << "Stop() waits for the run in progress";
  b.release.Notify();
  stopper.join();
  EXPECT_FALSE(d.loop->running());
  EXPECT_EQ(b.runs.load(), 1);

  // Stop's request must not be taken for a Wake(): the restarted loop waits for one.
  const int waits_before = d.waiter->waits();
  d.loop->Start();
  EXPECT_TRUE(d.loop->running());
  ASSERT_TRUE(d.waiter->AwaitWaits(waits_before + 1));
  EXPECT_EQ(b.runs.load(), 1);
  EXPECT_EQ(d.waiter->timeouts().back(), absl::InfiniteDuration());
  d.loop->Wake();
  ASSERT_TRUE(d.waiter->AwaitWaits(waits_before + 2));
  EXPECT_EQ(b.runs.load(), 2);
}

TEST(BackgroundLoopTest, StartTwiceRunsOneLoop) {
  std::atomic<int> runs{0};
  Driven d = MakeLoop(runs, absl::ZeroDuration(), absl::Hours(1));
  d.loop->Start();
  d.loop->Start();
  ASSERT_TRUE(d.waiter->AwaitWaits(1));
  EXPECT_EQ(runs.load(), 1);
  EXPECT_EQ(d.waiter->waits(), 1);
}

TEST(BackgroundLoopTest, StopBeforeStartIsANoOp) {
  std::atomic<int> runs{0};
  Driven d = MakeLoop(runs, absl::ZeroDuration(), absl::Hours(1));
  d.loop->Stop();
  EXPECT_FALSE(d.loop->running());
  d.loop->Start();
  ASSERT_TRUE(d.waiter->AwaitWaits(1));
  EXPECT_EQ(runs.load(), 1);
}

TEST(BackgroundLoopTest, NamesItsThread) {
  std::string seen;
  absl::Notification ran;
  BackgroundLoop loop({.name = "a-rather-long-loop-name", .first_wait = absl::ZeroDuration()},
                      absl::InfiniteDuration(), [&] {
                        char buffer[32] = {};
                        pthread_getname_np(pthread_self(), buffer, sizeof(buffer));
                        seen = buffer;
                        ran.Notify();
                      });
  loop.Start();
  ran.WaitForNotification();
  loop.Stop();
  EXPECT_EQ(seen, "a-rather-long-l");
}

TEST(ConditionWaiterTest, ANotifyBeforeTheWaitEndsItAtOnceAndIsConsumed) {
  ConditionWaiter waiter;
  waiter.Notify();
  EXPECT_TRUE(waiter.WaitFor(absl::InfiniteDuration()));
  EXPECT_FALSE(waiter.WaitFor(absl::Milliseconds(1))) << "consumed by the first wait";
}

TEST(ConditionWaiterTest, ClearDropsAPendingNotify) {
  ConditionWaiter waiter;
  waiter.Notify();
  waiter.Clear();
  EXPECT_FALSE(waiter.WaitFor(absl::Milliseconds(1)));
}

TEST(ConditionWaiterTest, NotifyFromAnotherThreadEndsAnInfiniteWait) {
  ConditionWaiter waiter;
  std::thread notifier([&waiter] { waiter.Notify(); });
  EXPECT_TRUE(waiter.WaitFor(absl::InfiniteDuration()));
  notifier.join();
}

}  // namespace
}  // namespace tokend::util
