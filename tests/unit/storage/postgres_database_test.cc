// The parts of pg::Database that need no server: option checks and the retry rule.

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "storage/postgres/database.h"

namespace tokend::storage::pg {
namespace {

PostgresOptions Valid() {
  PostgresOptions options;
  options.dsn = "host=127.0.0.1 port=1";
  return options;
}

TEST(DatabaseOptionsTest, DefaultsWithADsnAreValid) {
  EXPECT_TRUE(ValidatePostgresOptions(Valid()).ok());
}

TEST(DatabaseOptionsTest, EmptyDsnZeroPoolAndNonPositiveTimeoutsAreInvalidArgument) {
  PostgresOptions options = Valid();
  options.dsn.clear();
  EXPECT_EQ(ValidatePostgresOptions(options).code(), absl::StatusCode::kInvalidArgument);
  options = Valid();
  options.pool_size = 0;
  EXPECT_EQ(ValidatePostgresOptions(options).code(), absl::StatusCode::kInvalidArgument);
  for (absl::Duration PostgresOptions::*timeout :
       {&PostgresOptions::statement_timeout, &PostgresOptions::acquire_timeout,
        &PostgresOptions::connect_timeout}) {
    options = Valid();
    options.*timeout = absl::ZeroDuration();
    EXPECT_EQ(ValidatePostgresOptions(options).code(), absl::StatusCode::kInvalidArgument);
    options.*timeout = -absl::Seconds(1);
    EXPECT_EQ(ValidatePostgresOptions(options).code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(RetryWhileAbortedTest, AbortedTwiceThenOkSucceedsOnTheThirdAttempt) {
  int attempts = 0;
  const absl::Status status = RetryWhileAborted(
      3, [&] { return ++attempts < 3 ? absl::AbortedError("conflict") : absl::OkStatus(); });
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(attempts, 3);
}

TEST(RetryWhileAbortedTest, GivesUpAfterMaxAttemptsWithTheLastAbortedResult) {
  int attempts = 0;
  const absl::StatusOr<int> result = RetryWhileAborted(kMaxTransactionAttempts, [&] {
    ++attempts;
    return absl::StatusOr<int>(absl::AbortedError(absl::StrCat("attempt ", attempts)));
  });
  EXPECT_EQ(result.status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(result.status().message(), "attempt 3");
  EXPECT_EQ(attempts, kMaxTransactionAttempts);
}

TEST(RetryWhileAbortedTest, OtherErrorsAndSuccessAreNotRetried) {
  for (const absl::Status& outcome :
       {absl::UnavailableError("down"), absl::AlreadyExistsError("dup"), absl::InternalError("bug"),
        absl::OkStatus()}) {
    int attempts = 0;
    const absl::Status status = RetryWhileAborted(3, [&] {
      ++attempts;
      return outcome;
    });
    EXPECT_EQ(status, outcome);
    EXPECT_EQ(attempts, 1) << outcome;
  }
}

TEST(RetryWhileAbortedTest, ReturnsTheValueOfTheSuccessfulAttempt) {
  int attempts = 0;
  const absl::StatusOr<int> result = RetryWhileAborted(3, [&]() -> absl::StatusOr<int> {
    if (++attempts == 1) return absl::AbortedError("conflict");
    return 42 + attempts;
  });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(*result, 44);
}

}  // namespace
}  // namespace tokend::storage::pg
