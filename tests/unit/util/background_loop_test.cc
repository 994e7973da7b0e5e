#include "util/background_loop.h"

#include <atomic>
#include <memory>
#include <thread>
#include <utility>

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

}  // namespace
}  // namespace tokend::util
