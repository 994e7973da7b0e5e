// The one mapping from libpqxx exceptions to absl::Status (CONVENTIONS §4).

#include "storage/postgres/postgres_error.h"

#include <stdexcept>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pqxx/except"

namespace tokend::storage::pg {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

template <typename E>
absl::Status Map(const E& error) {
  return StatusFromException(std::make_exception_ptr(error), "find_refresh_token");
}

pqxx::sql_error Sql(const char* sqlstate) {
  return pqxx::sql_error("ERROR: boom\nDETAIL: Key (token_hash)=(\\xdeadbeef) already exists.",
                         "SELECT secret", sqlstate);
}

TEST(PostgresErrorTest, ConnectionFailuresAreUnavailable) {
  EXPECT_EQ(Map(pqxx::broken_connection("connection to server failed")).code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(Map(pqxx::in_doubt_error("lost during commit")).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Map(pqxx::statement_completion_unknown("?")).code(), absl::StatusCode::kUnavailable);
  for (const char* state : {"08006", "57P01", "57P03", "53300", "55P03"}) {
    EXPECT_EQ(Map(Sql(state)).code(), absl::StatusCode::kUnavailable) << state;
  }
}

TEST(PostgresErrorTest, StatementTimeoutIsUnavailable) {
  EXPECT_EQ(Map(Sql("57014")).code(), absl::StatusCode::kUnavailable);
}

TEST(PostgresErrorTest, ConflictsAreAborted) {
  EXPECT_EQ(Map(pqxx::serialization_failure("x")).code(), absl::StatusCode::kAborted);
  EXPECT_EQ(Map(pqxx::deadlock_detected("x")).code(), absl::StatusCode::kAborted);
  EXPECT_EQ(Map(pqxx::transaction_rollback("x")).code(), absl::StatusCode::kAborted);
}

TEST(PostgresErrorTest, UniqueViolationIsAlreadyExistsWithoutTheServersDetail) {
  const absl::Status status = Map(pqxx::unique_violation(
      "ERROR: duplicate key\nDETAIL: Key (token_hash)=(\\xdeadbeef) already exists.", "INSERT",
      "23505"));
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(std::string(status.message()), HasSubstr("find_refresh_token"));
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr("deadbeef")));
}

TEST(PostgresErrorTest, OtherErrorsAreInternalWithTheSqlStateOnly) {
  const absl::Status status = Map(Sql("42P01"));
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(status.message()), HasSubstr("SQLSTATE 42P01"));
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr("deadbeef")));
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr("secret")));

  const absl::Status conversion = Map(std::runtime_error("could not convert 'secret-value'"));
  EXPECT_EQ(conversion.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(conversion.message()), Not(HasSubstr("secret")));
}

TEST(PostgresErrorTest, ConnectionMessagesKeepOneLineAndMaskPasswords) {
  const absl::Status status = Map(pqxx::broken_connection(
      "connection to server at \"db\" failed: password=hunter2 rejected\nsecond line"));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(status.message()), HasSubstr("connection to server at"));
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr("hunter2")));
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr("second line")));
}

}  // namespace
}  // namespace tokend::storage::pg
