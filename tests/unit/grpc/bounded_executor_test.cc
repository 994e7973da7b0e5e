#include "services/tokend/grpc/bounded_executor.h"

#include <atomic>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace tokend::grpc {
namespace {

TEST(BoundedExecutorTest, RunsSubmittedTasks) {
  BoundedExecutor executor(2, 8);
  std::atomic<int> ran{0};
  absl::Notification done[3];
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(executor.TrySubmit([&, i] {
      ++ran;
      done[i].Notify();
    }));
  }
  for (auto& d : done) d.WaitForNotification();
  EXPECT_EQ(ran.load(), 3);
}

TEST(BoundedExecutorTest, RefusesWhenEveryWorkerIsBusyAndTheQueueIsFull) {
  BoundedExecutor executor(/*num_threads=*/1, /*max_queued=*/1);
  absl::Notification started, release;
  ASSERT_TRUE(executor.TrySubmit([&] {
    started.Notify();
    release.WaitForNotification();
  }));
  started.WaitForNotification();
  EXPECT_TRUE(executor.TrySubmit([] {}));   // waits in the queue
  EXPECT_FALSE(executor.TrySubmit([] {}));  // no worker, no room
  release.Notify();
}

TEST(BoundedExecutorTest, AnIdleWorkerCountsEvenWithoutAQueue) {
  BoundedExecutor executor(/*num_threads=*/1, /*max_queued=*/0);
  absl::Notification started, release;
  EXPECT_TRUE(executor.TrySubmit([&] {
    started.Notify();
    release.WaitForNotification();
  }));
  started.WaitForNotification();
  EXPECT_FALSE(executor.TrySubmit([] {}));
  release.Notify();
}

TEST(BoundedExecutorTest, ShutdownRunsAcceptedTasksThenRefusesNewOnes) {
  std::atomic<int> ran{0};
  BoundedExecutor executor(1, 16);
  absl::Notification release;
  ASSERT_TRUE(executor.TrySubmit([&] { release.WaitForNotification(); }));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(executor.TrySubmit([&] { ++ran; }));
  release.Notify();
  executor.Shutdown();
  EXPECT_EQ(ran.load(), 5);
  EXPECT_FALSE(executor.TrySubmit([&] { ++ran; }));
  executor.Shutdown();  // idempotent
}

}  // namespace
}  // namespace tokend::grpc
