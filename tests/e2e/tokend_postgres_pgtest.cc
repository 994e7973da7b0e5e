// The contract suite (tokend_contract_tests.cc) against PostgreSQL (a fresh database per test,
// migrated by `tokend migrate`), plus what only PostgreSQL has: migrations, the schema check
// at start, the shared refresh secret, and a call held in flight by a database lock while the
// server drains.

#include <signal.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/pg_e2e_support.h"
#include "tests/e2e/store_backend.h"
#include "tests/e2e/tokend_process.h"
#include "tests/testing/pg_test_database.h"
#include "tokend/v1/token_service.grpc.pb.h"

namespace tokend::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class PostgresBackend : public StoreBackend {
 public:
  PostgresBackend(std::unique_ptr<testing::PgTestDatabase> database, std::string secret_file)
      : database_(std::move(database)), secret_file_(std::move(secret_file)) {}
  std::string name() const override { return "postgresql"; }
  std::vector<std::string> StoreFlags() const override {
    return {StoreFlag(database_->dsn()), "--refresh_secret_file=" + secret_file_};
  }
  bool shared() const override { return true; }

 private:
  std::unique_ptr<testing::PgTestDatabase> database_;
  std::string secret_file_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<StoreBackend>> MakeStoreBackend(const ScratchDir& dir) {
  absl::StatusOr<std::unique_ptr<testing::PgTestDatabase>> database = FreshEmptyDatabase();
  if (!database.ok()) return database.status();
  if (absl::Status migrated = MigrateWithTokend((*database)->dsn()); !migrated.ok()) {
    return migrated;
  }
  return std::make_unique<PostgresBackend>(*std::move(database), WriteRefreshSecret(dir));
}

namespace {

class TokendPostgresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<testing::PgTestDatabase>> database = FreshEmptyDatabase();
    if (!database.ok()) {
      if (absl::IsFailedPrecondition(database.status())) {
        GTEST_SKIP() << database.status().message();
      }
      FAIL() << database.status();
    }
    database_ = *std::move(database);
    secret_file_ = WriteRefreshSecret(dir_);
  }

  std::vector<std::string> Flags(std::vector<std::string> extra = {}) const {
    std::vector<std::string> flags = {StoreFlag(database_->dsn()),
                                      "--refresh_secret_file=" + secret_file_};
    flags.insert(flags.end(), extra.begin(), extra.end());
    return flags;
  }

  ScratchDir dir_;
  std::unique_ptr<testing::PgTestDatabase> database_;
  std::string secret_file_;
};

TEST_F(TokendPostgresTest, MigrateCreatesTheSchemaAndIsIdempotent) {
  std::string output;
  absl::StatusOr<int> code = TokendProcess::RunToExit({"migrate", StoreFlag(database_->dsn())},
                                                      absl::Seconds(60), &output);
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0) << output;
  absl::StatusOr<std::string> tables =
      Psql(database_->dsn(),
           "SELECT count(*) FROM information_schema.tables WHERE table_name IN "
           "('refresh_tokens','refresh_families','revocations','schema_migrations')");
  ASSERT_TRUE(tables.ok()) << tables.status();
  EXPECT_EQ(*tables, "4");

  code = TokendProcess::RunToExit({"migrate", StoreFlag(database_->dsn())}, absl::Seconds(60),
                                  &output);
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0) << output;
}

TEST_F(TokendPostgresTest, MigrateFailsClearlyWithoutADatabaseOrAPostgresStore) {
  std::string output;
  absl::StatusOr<int> code = TokendProcess::RunToExit(
      {"migrate",
       "--store=postgresql:host=127.0.0.1 port=1 user=nobody password=hunter2 "
       "dbname=none connect_timeout=2"},
      absl::Seconds(60), &output);
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 1) << output;
  EXPECT_THAT(output, HasSubstr("migrate failed"));
  EXPECT_THAT(output, Not(HasSubstr("hunter2"))) << "a DSN password must never be logged";

  code = TokendProcess::RunToExit({"migrate", "--store=memory"}, absl::Seconds(30), &output);
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 2) << output;
}

TEST_F(TokendPostgresTest, RefusesAnUnmigratedDatabaseAndSaysToRunMigrate) {
  std::string output;
  std::vector<std::string> args =
      Flags({"--insecure", "--grpc_listen=127.0.0.1:0", "--http_listen=127.0.0.1:0"});
  absl::StatusOr<int> code = TokendProcess::RunToExit(args, absl::Seconds(60), &output);
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 1) << output;
  EXPECT_THAT(output, HasSubstr("tokend migrate"));
}

TEST_F(TokendPostgresTest, RefusesToStartWithoutASharedRefreshSecret) {
  ASSERT_TRUE(MigrateWithTokend(database_->dsn()).ok());
  std::string output;
  absl::StatusOr<int> code =
      TokendProcess::RunToExit({StoreFlag(database_->dsn()), "--insecure",
                                "--grpc_listen=127.0.0.1:0", "--http_listen=127.0.0.1:0"},
                               absl::Seconds(60), &output);
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 2) << output;
  EXPECT_THAT(output, HasSubstr("--refresh_secret_file"));

  // The secret may come from the environment instead.
  TokendProcess::Options options;
  options.args = {StoreFlag(database_->dsn())};
  options.env = {{"TOKEND_REFRESH_SECRET", std::string(40, 'k')}};
  absl::StatusOr<std::unique_ptr<TokendProcess>> tokend = TokendProcess::Start(options);
  ASSERT_TRUE(tokend.ok()) << tokend.status();
  EXPECT_EQ((*tokend)->Terminate(), std::optional<int>(0));
}

TEST_F(TokendPostgresTest, LogsNeverContainTheDsnPassword) {
  ASSERT_TRUE(MigrateWithTokend(database_->dsn()).ok());
  TokendProcess::Options options;
  // trust authentication ignores the password, so the server starts with it in its DSN.
  options.args = Flags();
  options.args[0] += " password=hunter2secret";
  absl::StatusOr<std::unique_ptr<TokendProcess>> tokend = TokendProcess::Start(options);
  ASSERT_TRUE(tokend.ok()) << tokend.status();
  EXPECT_EQ((*tokend)->Terminate(), std::optional<int>(0));
  std::string log = (*tokend)->Log();
  EXPECT_THAT(log, HasSubstr("password=***"));
  EXPECT_THAT(log, Not(HasSubstr("hunter2secret")));
}

TEST_F(TokendPostgresTest, SigtermDrainsACallHeldInFlightByTheDatabase) {
  ASSERT_TRUE(MigrateWithTokend(database_->dsn()).ok());
  TokendProcess::Options options;
  options.args = Flags({"--db_timeout=15s", "--drain_timeout=20s"});
  absl::StatusOr<std::unique_ptr<TokendProcess>> started = TokendProcess::Start(options);
  ASSERT_TRUE(started.ok()) << started.status();
  TokendProcess& tokend = **started;
  auto stub = tokend.NewStub();
  v1::IssueRequest issue;
  issue.set_subject("alice");
  issue.add_audience("api");
  issue.set_include_refresh_token(true);
  v1::TokenResponse issued;
  ASSERT_TRUE(stub->Issue(ContextWithDeadline().get(), issue, &issued).ok());

  // Hold an exclusive lock on refresh_tokens for 3 s from another session...
  std::string lock_sql =
      "BEGIN; LOCK TABLE refresh_tokens IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(3); COMMIT;";
  std::thread holder([&] { (void)Psql(database_->dsn(), lock_sql); });
  auto count = [&](const std::string& sql) {
    absl::StatusOr<std::string> out = Psql(database_->dsn(), sql);
    return out.ok() ? *out : "";
  };
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (count("SELECT count(*) FROM pg_locks WHERE relation = 'refresh_tokens'::regclass "
               "AND mode = 'AccessExclusiveLock' AND granted") != "1" &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  // ...so this Refresh reaches the server and waits on the database.
  ::grpc::Status refresh_status = ::grpc::Status(::grpc::StatusCode::UNKNOWN, "not finished");
  v1::TokenResponse refreshed;
  std::thread caller([&] {
    v1::RefreshRequest request;
    request.set_refresh_token(issued.refresh_token());
    refresh_status =
        stub->Refresh(ContextWithDeadline(absl::Seconds(30)).get(), request, &refreshed);
  });
  deadline = absl::Now() + absl::Seconds(10);
  while (count("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
               "wait_event_type = 'Lock'") == "0" &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_NE(count("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                  "AND wait_event_type = 'Lock'"),
            "0")
      << "the Refresh never reached the database";

  absl::Time signalled = absl::Now();
  tokend.Signal(SIGTERM);
  std::optional<int> code = tokend.WaitForExit(absl::Seconds(30));
  caller.join();
  holder.join();
  EXPECT_EQ(code, std::optional<int>(0));
  EXPECT_TRUE(refresh_status.ok())
      << refresh_status.error_code() << " " << refresh_status.error_message();
  EXPECT_FALSE(refreshed.refresh_token().empty());
  std::cout << "in-flight Refresh drained; exit " << absl::FormatDuration(absl::Now() - signalled)
            << " after SIGTERM\n";
  if (HasFailure()) tokend.DumpLog();
}

}  // namespace
}  // namespace tokend::e2e
