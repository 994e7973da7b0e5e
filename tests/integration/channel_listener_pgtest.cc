// pg::ChannelListener on a real server: it hears a NOTIFY; when its session is killed from
// another connection (pg_terminate_backend) it reconnects, reports the gap and hears the next
// NOTIFY; a quiet session is pinged and stays up.

#include <memory>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pqxx/connection"
#include "pqxx/nontransaction"
#include "pqxx/result"
#include "storage/postgres/channel_listener.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/listener_recorder.h"
#include "tests/testing/pg_test_database.h"

namespace tokend::storage::pg {
namespace {

using testing::PgTestDatabase;

constexpr char kChannel[] = "tokend_listener_test";

class ChannelListenerPgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TOKEND_REQUIRE_POSTGRES_OR_SKIP();
    auto database = PgTestDatabase::Create(PgTestDatabase::Schema::kEmpty);
    ASSERT_TRUE(database.ok()) << database.status();
    database_ = std::move(*database);
    admin_ = std::make_unique<pqxx::connection>(database_->dsn());
  }

  std::unique_ptr<ChannelListener> MakeListener(absl::Duration liveness_interval,
                                                const util::Clock* clock = nullptr) {
    PostgresOptions postgres;
    postgres.dsn = database_->dsn();
    ChannelListener::Options options;
    options.name = "test listener";
    options.channel = kChannel;
    options.feed.poll_interval = absl::Milliseconds(50);
    options.feed.initial_backoff = absl::Milliseconds(20);
    options.feed.liveness_interval = liveness_interval;
    options.feed.log_warning = [](std::string_view) {};  // the kill is expected
    options.clock = clock;
    return std::make_unique<ChannelListener>(std::move(options),
                                             PostgresListenSessions(std::move(postgres)));
  }

  void Notify(const std::string& payload) {
    pqxx::nontransaction tx(*admin_);
    tx.exec_params("SELECT pg_notify($1, $2)", std::string(kChannel), payload);
  }

  // Terminates every other client session on this test's own database: the listener's. The
  // pids are read first and killed one by one, so no other session of the shared server can be
  // hit (a WHERE clause does not fix the order its conditions are evaluated in).
  int KillOtherSessions() {
    pqxx::nontransaction tx(*admin_);
    const pqxx::result others = tx.exec(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND backend_type = 'client backend' AND pid <> pg_backend_pid()");
    int killed = 0;
    for (const auto& row : others) {
      killed +=
          tx.exec_params("SELECT pg_terminate_backend($1)", row[0].as<int>()).at(0).at(0).as<bool>()
              ? 1
              : 0;
    }
    return killed;
  }

  std::unique_ptr<PgTestDatabase> database_;
  std::unique_ptr<pqxx::connection> admin_;
  testing::ListenerRecorder recorder_;
};

TEST_F(ChannelListenerPgTest, HearsANotifyAndAfterItsSessionIsKilledReconnectsReportsAGapAndHears) {
  std::unique_ptr<ChannelListener> listener = MakeListener(absl::Seconds(5));
  ASSERT_TRUE(listener->Start(recorder_.Callbacks()).ok());
  Notify("before");
  ASSERT_TRUE(recorder_.AwaitPayload("before"));
  EXPECT_EQ(recorder_.gaps(), 0);

  ASSERT_EQ(KillOtherSessions(), 1);
  ASSERT_TRUE(recorder_.AwaitGaps(1)) << "no gap reported after the session was killed";
  EXPECT_GE(listener->stats().reconnects, 1);
  EXPECT_TRUE(listener->stats().connected);

  Notify("after");
  EXPECT_TRUE(recorder_.AwaitPayload("after"));
  listener->Stop();
  EXPECT_GE(listener->stats().delivered, 2);
  EXPECT_FALSE(listener->stats().connected);
}

TEST_F(ChannelListenerPgTest, QuietSessionIsPingedAndStaysUp) {
  testing::FakeClock clock;  // the liveness interval passes only when the test says so
  std::unique_ptr<ChannelListener> listener = MakeListener(absl::Seconds(5), &clock);
  ASSERT_TRUE(listener->Start(recorder_.Callbacks()).ok());
  for (int64_t ping = 1; ping <= 2; ++ping) {
    clock.Advance(absl::Seconds(5));
    // The next poll (every 50 ms) sends the ping over the real session.
    for (int i = 0; i < 1000 && listener->stats().pings < ping; ++i) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    EXPECT_EQ(listener->stats().pings, ping);
  }
  EXPECT_EQ(listener->stats().reconnects, 0);
  EXPECT_TRUE(listener->stats().connected);
  Notify("still here");
  EXPECT_TRUE(recorder_.AwaitPayload("still here"));
}

}  // namespace
}  // namespace tokend::storage::pg
