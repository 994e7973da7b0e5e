// pg::ChannelListener's loop without a server: a fake session stands in for libpqxx, a
// ManualWaiter drives the reconnection backoff and a FakeClock the liveness interval.

#include "storage/postgres/channel_listener.h"

#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/listener_recorder.h"
#include "tests/testing/manual_waiter.h"

namespace tokend::storage::pg {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// Bounds every wait of a test for something the listener's thread does.
constexpr absl::Duration kPatience = absl::Seconds(10);

// The database as the listener's sessions see it. Poll waits (at most its `wait`, which the
// tests keep short) for a queued notification or a dropped connection.
class FakeServer {
 public:
  ListenSessionFactory Factory() {
    return [this](const std::string& channel, std::function<void(std::string_view)> on_payload)
               -> absl::StatusOr<std::unique_ptr<ListenSession>> {
      absl::MutexLock lock(&mu_);
      channels_.push_back(channel);
      if (failing_connects_ > 0) {
        --failing_connects_;
        return absl::UnavailableError("connection refused");
      }
      ++generation_;
      dropped_ = false;
      return std::unique_ptr<ListenSession>(new Session(this, generation_, std::move(on_payload)));
    };
  }

  void FailConnects(int n) {
    absl::MutexLock lock(&mu_);
    failing_connects_ = n;
  }
  void Notify(std::string payload) {
    absl::MutexLock lock(&mu_);
    queue_.push_back(std::move(payload));
  }
  // Kills the current session: its next Poll fails.
  void Drop() {
    absl::MutexLock lock(&mu_);
    dropped_ = true;
  }
  void FailNextPing() {
    absl::MutexLock lock(&mu_);
    fail_next_ping_ = true;
  }
  // Waits until Poll has been entered `n` times in all: every Poll before the n-th has returned
  // and the listener has acted on its result.
  bool AwaitPolls(int n) {
    absl::MutexLock lock(&mu_);
    auto reached = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return polls_ >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&reached), kPatience);
  }
  int polls() {
    absl::MutexLock lock(&mu_);
    return polls_;
  }
  int pings() {
    absl::MutexLock lock(&mu_);
    return pings_;
  }
  std::vector<std::string> channels() {
    absl::MutexLock lock(&mu_);
    return channels_;
  }

 private:
  class Session final : public ListenSession {
   public:
    Session(FakeServer* server, int generation, std::function<void(std::string_view)> on_payload)
        : server_(server), generation_(generation), on_payload_(std::move(on_payload)) {}

    absl::StatusOr<int> Poll(absl::Duration wait) override {
      std::deque<std::string> received;
      {
        absl::MutexLock lock(&server_->mu_);
        ++server_->polls_;
        auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(server_->mu_) {
          return Lost() || !server_->queue_.empty();
        };
        server_->mu_.AwaitWithTimeout(absl::Condition(&ready), wait);
        if (Lost()) return absl::UnavailableError("connection lost");
        received.swap(server_->queue_);
      }
      for (const std::string& payload : received) on_payload_(payload);
      return static_cast<int>(received.size());
    }

    absl::Status Ping() override {
      absl::MutexLock lock(&server_->mu_);
      ++server_->pings_;
      if (std::exchange(server_->fail_next_ping_, false)) {
        return absl::UnavailableError("no answer");
      }
      return Lost() ? absl::UnavailableError("connection lost") : absl::OkStatus();
    }

   private:
    bool Lost() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(server_->mu_) {
      return server_->dropped_ || server_->generation_ != generation_;
    }

    FakeServer* server_;
    const int generation_;
    std::function<void(std::string_view)> on_payload_;
  };

  absl::Mutex mu_;
  int generation_ ABSL_GUARDED_BY(mu_) = 0;
  int failing_connects_ ABSL_GUARDED_BY(mu_) = 0;
  bool dropped_ ABSL_GUARDED_BY(mu_) = false;
  bool fail_next_ping_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<std::string> queue_ ABSL_GUARDED_BY(mu_);
  int polls_ ABSL_GUARDED_BY(mu_) = 0;
  int pings_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::string> channels_ ABSL_GUARDED_BY(mu_);
};

class ChannelListenerTest : public ::testing::Test {
 protected:
  ChannelListenerTest() {
    auto waiter = std::make_unique<testing::ManualWaiter>();
    waiter_ = waiter.get();
    ChannelListener::Options options;
    options.name = "test feed";
    options.channel = "test_channel";
    options.feed.poll_interval = absl::Milliseconds(5);
    options.feed.initial_backoff = absl::Milliseconds(50);
    options.feed.max_backoff = absl::Milliseconds(150);
    options.feed.liveness_interval = absl::Seconds(5);
    options.feed.log_warning = recorder_.Logger();
    options.waiter = std::move(waiter);
    options.clock = &clock_;
    listener_ = std::make_unique<ChannelListener>(std::move(options), server_.Factory());
  }

  FakeServer server_;
  testing::ListenerRecorder recorder_;
  testing::FakeClock clock_;
  testing::ManualWaiter* waiter_;  // owned by the listener
  std::unique_ptr<ChannelListener> listener_;
};

TEST_F(ChannelListenerTest, StartListensOnTheChannelAndDeliversPayloadsInOrder) {
  ASSERT_TRUE(listener_->Start(recorder_.Callbacks()).ok());
  EXPECT_THAT(server_.channels(), ElementsAre("test_channel"));
  EXPECT_TRUE(listener_->stats().connected);
  server_.Notify("a");
  server_.Notify("b");
  ASSERT_TRUE(recorder_.AwaitPayloads(2));
  server_.Notify("c");
  ASSERT_TRUE(recorder_.AwaitPayloads(3));
  EXPECT_THAT(recorder_.payloads(), ElementsAre("a", "b", "c"));
  listener_->Stop();
  EXPECT_EQ(listener_->stats().delivered, 3);
  EXPECT_EQ(recorder_.gaps(), 0);
  EXPECT_FALSE(listener_->stats().connected);
}

TEST_F(ChannelListenerTest, MalformedPayloadIsCountedAndLoggedWithoutItsContent) {
  ASSERT_TRUE(listener_->Start(recorder_.Callbacks()).ok());
  server_.Notify(std::string(testing::ListenerRecorder::kMalformed));
  server_.Notify("good");
  ASSERT_TRUE(recorder_.AwaitPayloads(1));
  listener_->Stop();
  EXPECT_THAT(recorder_.payloads(), ElementsAre("good"));
  EXPECT_EQ(listener_->stats().malformed, 1);
  EXPECT_EQ(listener_->stats().delivered, 1);
  ASSERT_EQ(recorder_.warnings().size(), 1u);
  EXPECT_THAT(recorder_.warnings()[0], HasSubstr("test feed: ignored a malformed notification"));
  EXPECT_THAT(recorder_.warnings()[0], HasSubstr("11 bytes"));
  EXPECT_THAT(recorder_.warnings()[0], Not(HasSubstr(testing::ListenerRecorder::kMalformed)));
}

TEST_F(ChannelListenerTest, FailedFirstConnectionStartsNothingAndStartMayBeRetried) {
  server_.FailConnects(1);
  const absl::Status failed = listener_->Start(recorder_.Callbacks());
  EXPECT_EQ(failed.code(), absl::StatusCode::kUnavailable) << failed;
  EXPECT_FALSE(listener_->stats().connected);
  EXPECT_EQ(server_.polls(), 0);
  ASSERT_TRUE(listener_->Start(recorder_.Callbacks()).ok());
  server_.Notify("a");
  EXPECT_TRUE(recorder_.AwaitPayloads(1));
  EXPECT_EQ(recorder_.gaps(), 0);  // a first connection is no gap
}

TEST_F(ChannelListenerTest, StartTwiceOrAfterStopIsFailedPreconditionAndNeedsAHandler) {
  EXPECT_EQ(listener_->Start({}).code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(listener_->Start(recorder_.Callbacks()).ok());
  EXPECT_EQ(listener_->Start(recorder_.Callbacks()).code(), absl::StatusCode::kFailedPrecondition);
  listener_->Stop();
  listener_->Stop();  // idempotent
  EXPECT_EQ(listener_->Start(recorder_.Callbacks()).code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(ChannelListenerTest, LostConnectionReconnectsWithDoublingCappedBackoffThenReportsAGap) {
  ASSERT_TRUE(listener_->Start(recorder_.Callbacks()).ok());
  server_.FailConnects(4);
  server_.Drop();
  // Each failed reconnection waits, twice as long as the last, up to max_backoff.
  for (int wait = 1; wait <= 4; ++wait) {
    waiter_->AwaitWaits(wait);
    EXPECT_FALSE(listener_->stats().connected);
    EXPECT_EQ(recorder_.gaps(), 0);
    waiter_->Elapse();
  }
  ASSERT_TRUE(recorder_.AwaitGaps(1));
  EXPECT_THAT(waiter_->timeouts(), ElementsAre(absl::Milliseconds(50), absl::Milliseconds(100),
                                               absl::Milliseconds(150), absl::Milliseconds(150)));
  EXPECT_TRUE(listener_->stats().connected);
  EXPECT_EQ(listener_->stats().reconnects, 1);
  // Heard again on the new connection.
  server_.Notify("after");
  ASSERT_TRUE(recorder_.AwaitPayloads(1));

  // The backoff starts over after a success.
  server_.FailConnects(1);
  server_.Drop();
  waiter_->AwaitWaits(5);
  waiter_->Elapse();
  ASSERT_TRUE(recorder_.AwaitGaps(2));
  EXPECT_EQ(waiter_->timeouts().back(), absl::Milliseconds(50));
  EXPECT_EQ(listener_->stats().reconnects, 2);
  const std::vector<std::string> warnings = recorder_.warnings();
  ASSERT_FALSE(warnings.empty());
  EXPECT_THAT(warnings[0], HasSubstr("test feed: connection lost, reconnecting"));
  EXPECT_THAT(warnings[1], HasSubstr("test feed: reconnect failed, retrying in 50ms"));
}

TEST_F(ChannelListenerTest, ImmediateReconnectionNeedsNoWaitAndStillReportsAGap) {
  ASSERT_TRUE(listener_->Start(recorder_.Callbacks()).ok());
  server_.Drop();
  ASSERT_TRUE(recorder_.AwaitGaps(1));
  EXPECT_TRUE(waiter_->timeouts().empty());
  EXPECT_EQ(listener_->stats().reconnects, 1);
}

TEST_F(ChannelListenerTest, QuietConnectionIsPingedOncePerLivenessInterval) {
  ASSERT_TRUE(listener_->Start(recorder_.Callbacks()).ok());
  clock_.Advance(absl::Seconds(4));
  ASSERT_TRUE(server_.AwaitPolls(server_.polls() + 1));
  EXPECT_EQ(server_.pings(), 0);  // not quiet long enough

  clock_.Advance(absl::Seconds(1));
  // Two more polls: the one under way may have been judged before the clock moved.
  ASSERT_TRUE(server_.AwaitPolls(server_.polls() + 2));
  EXPECT_EQ(server_.pings(), 1);
  ASSERT_TRUE(server_.AwaitPolls(server_.polls() + 2));
  EXPECT_EQ(server_.pings(), 1);  // the ping counts as traffic

  // A notification is traffic too.
  clock_.Advance(absl::Seconds(4));
  server_.Notify("a");
  ASSERT_TRUE(recorder_.AwaitPayloads(1));
  clock_.Advance(absl::Seconds(4));
  ASSERT_TRUE(server_.AwaitPolls(server_.polls() + 1));
  EXPECT_EQ(server_.pings(), 1);
  EXPECT_EQ(listener_->stats().pings, 1);
}

TEST_F(ChannelListenerTest, FailedPingCountsAsALostConnection) {
  ASSERT_TRUE(listener_->Start(recorder_.Callbacks()).ok());
  server_.FailNextPing();
  clock_.Advance(absl::Seconds(5));
  ASSERT_TRUE(recorder_.AwaitGaps(1));
  EXPECT_EQ(server_.pings(), 1);
  EXPECT_EQ(listener_->stats().reconnects, 1);
  EXPECT_TRUE(listener_->stats().connected);
  ASSERT_FALSE(recorder_.warnings().empty());
  EXPECT_THAT(recorder_.warnings()[0], HasSubstr("no answer"));
}

TEST_F(ChannelListenerTest, StopEndsABackoffWait) {
  ASSERT_TRUE(listener_->Start(recorder_.Callbacks()).ok());
  server_.FailConnects(1000);
  server_.Drop();
  waiter_->AwaitWaits(1);
  listener_->Stop();  // the waiter is notified; the test would hang otherwise
  EXPECT_FALSE(listener_->stats().connected);
  EXPECT_EQ(recorder_.gaps(), 0);
}

}  // namespace
}  // namespace tokend::storage::pg
