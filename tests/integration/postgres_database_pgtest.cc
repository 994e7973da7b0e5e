// pg::Database against a real server: the schema check at Connect, and RunInTransaction's
// retry of transactions the server aborts (serialization failure, deadlock), with the rolled
// back attempts leaving nothing behind.

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pqxx/nontransaction"
#include "pqxx/result"
#include "pqxx/transaction"
#include "storage/postgres/database.h"
#include "tests/testing/pg_test_database.h"

namespace tokend::storage::pg {
namespace {

using ::testing::HasSubstr;
using testing::PgTestDatabase;

// Makes the server fail the current statement with `sqlstate`, as a real conflict would: the
// error travels through libpq, libpqxx's exception classes and the one mapper.
void RaiseSqlState(pqxx::transaction_base& tx, const std::string& condition) {
  tx.exec("DO $$ BEGIN RAISE EXCEPTION 'forced' USING ERRCODE = '" + condition + "'; END $$");
}

class PostgresDatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TOKEND_REQUIRE_POSTGRES_OR_SKIP();
    auto database = PgTestDatabase::Create();
    ASSERT_TRUE(database.ok()) << database.status();
    database_ = std::move(*database);
    PostgresOptions options;
    options.dsn = database_->dsn();
    options.pool_size = 2;
    auto db = Database::Connect(options);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    ASSERT_TRUE(db_->Run("create",
                         [](pqxx::nontransaction& tx) -> absl::Status {
                           tx.exec("CREATE TABLE attempts (n int PRIMARY KEY)");
                           return absl::OkStatus();
                         })
                    .ok());
  }

  // The rows of table attempts, in order, as "1,2,".
  std::string Rows() {
    absl::StatusOr<std::string> rows =
        db_->Run("rows", [](pqxx::nontransaction& tx) -> absl::StatusOr<std::string> {
          std::string out;
          for (const auto& row : tx.exec("SELECT n FROM attempts ORDER BY n")) {
            out += row[0].as<std::string>() + ",";
          }
          return out;
        });
    return rows.ok() ? *rows : rows.status().ToString();
  }

  std::unique_ptr<PgTestDatabase> database_;
  std::unique_ptr<Database> db_;
};

TEST_F(PostgresDatabaseTest, SerializationFailureIsRetriedAndOnlyTheLastAttemptCommits) {
  int attempts = 0;
  const absl::Status status = db_->RunInTransaction("insert", [&](pqxx::work& tx) -> absl::Status {
    ++attempts;
    tx.exec_params("INSERT INTO attempts VALUES ($1)", attempts);
    if (attempts < 3) RaiseSqlState(tx, "serialization_failure");
    tx.commit();
    return absl::OkStatus();
  });
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(attempts, 3);
  EXPECT_EQ(Rows(), "3,");  // attempts 1 and 2 were rolled back
}

TEST_F(PostgresDatabaseTest, DeadlockIsRetried) {
  int attempts = 0;
  const absl::Status status = db_->RunInTransaction("insert", [&](pqxx::work& tx) -> absl::Status {
    ++attempts;
    tx.exec_params("INSERT INTO attempts VALUES ($1)", attempts);
    if (attempts == 1) RaiseSqlState(tx, "deadlock_detected");
    tx.commit();
    return absl::OkStatus();
  });
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(attempts, 2);
  EXPECT_EQ(Rows(), "2,");
}

TEST_F(PostgresDatabaseTest, PersistentConflictIsAbortedAfterTheLastAttempt) {
  int attempts = 0;
  const absl::Status status = db_->RunInTransaction("insert", [&](pqxx::work& tx) -> absl::Status {
    ++attempts;
    tx.exec_params("INSERT INTO attempts VALUES ($1)", attempts);
    RaiseSqlState(tx, "serialization_failure");
    tx.commit();
    return absl::OkStatus();
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kAborted) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("postgres insert: "));
  EXPECT_THAT(std::string(status.message()), HasSubstr("SQLSTATE 40001"));
  EXPECT_EQ(attempts, kMaxTransactionAttempts);
  EXPECT_EQ(Rows(), "");
}

TEST_F(PostgresDatabaseTest, AbortedReturnedByTheFunctionIsRetriedAndItsWritesRolledBack) {
  int attempts = 0;
  const absl::StatusOr<int> result =
      db_->RunInTransaction("cas", [&](pqxx::work& tx) -> absl::StatusOr<int> {
        ++attempts;
        tx.exec_params("INSERT INTO attempts VALUES ($1)", attempts);
        if (attempts < 3) return absl::AbortedError("the state changed");  // not committed
        tx.commit();
        return attempts;
      });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(*result, 3);
  EXPECT_EQ(Rows(), "3,");
}

TEST_F(PostgresDatabaseTest, OtherErrorsAreNotRetried) {
  int attempts = 0;
  const absl::Status status = db_->RunInTransaction("insert", [&](pqxx::work& tx) -> absl::Status {
    ++attempts;
    tx.exec("INSERT INTO attempts VALUES (7), (7)");  // unique violation
    tx.commit();
    return absl::OkStatus();
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists) << status;
  EXPECT_EQ(attempts, 1);
}

TEST_F(PostgresDatabaseTest, RunIsNeverRetried) {
  int attempts = 0;
  const absl::Status status = db_->Run("select", [&](pqxx::nontransaction& tx) -> absl::Status {
    ++attempts;
    RaiseSqlState(tx, "serialization_failure");
    return absl::OkStatus();
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kAborted) << status;
  EXPECT_EQ(attempts, 1);
}

TEST_F(PostgresDatabaseTest, ConnectionsGoBackToThePoolAfterEveryOutcome) {
  for (int i = 0; i < 5; ++i) {
    (void)db_->RunInTransaction("insert", [&](pqxx::work& tx) -> absl::Status {
      RaiseSqlState(tx, "serialization_failure");
      return absl::OkStatus();
    });
    (void)db_->Run("fail", [](pqxx::nontransaction&) -> absl::Status {
      return absl::InternalError("fn failed");
    });
  }
  EXPECT_EQ(db_->pool_stats().in_use, 0);
  EXPECT_EQ(Rows(), "");
}

TEST(PostgresDatabaseConnectTest, RefusesADatabaseWithoutTheSchema) {
  TOKEND_REQUIRE_POSTGRES_OR_SKIP();
  auto database = PgTestDatabase::Create(PgTestDatabase::Schema::kEmpty);
  ASSERT_TRUE(database.ok()) << database.status();
  PostgresOptions options;
  options.dsn = (*database)->dsn();
  auto db = Database::Connect(options);
  EXPECT_EQ(db.status().code(), absl::StatusCode::kFailedPrecondition) << db.status();
  EXPECT_THAT(std::string(db.status().message()), HasSubstr("run `tokend migrate`"));
}

}  // namespace
}  // namespace tokend::storage::pg
