#pragma once

#include <memory>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "pqxx/nontransaction"
#include "pqxx/transaction"
#include "storage/postgres/connection_pool.h"
#include "storage/postgres/pool_stats.h"
#include "storage/postgres/postgres_error.h"
#include "storage/postgres/postgres_options.h"

namespace tokend::storage::pg {

// INVALID_ARGUMENT unless `options` has a DSN, pool_size >= 1 and positive timeouts.
absl::Status ValidatePostgresOptions(const PostgresOptions& options);

inline const absl::Status& StatusOf(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& StatusOf(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

// How many times in all RunInTransaction tries a transaction that ends ABORTED.
inline constexpr int kMaxTransactionAttempts = 3;

// Calls `attempt()` (returning absl::Status or absl::StatusOr<T>) again while it returns
// ABORTED, at most `max_attempts` times in all; returns the last result. Pure; thread-safe.
template <typename Fn>
auto RetryWhileAborted(int max_attempts, Fn&& attempt) -> std::invoke_result_t<Fn&> {
  std::invoke_result_t<Fn&> result = attempt();
  for (int tries = 1; tries < max_attempts && StatusOf(result).code() == absl::StatusCode::kAborted;
       ++tries) {
    result = attempt();
  }
  return result;
}

// One PostgreSQL database as a store uses it: the options checked, a fixed pool of connections
// (connection_pool.h), the schema version checked once at Connect, and two ways to run code on
// a pooled connection. Guarantees: every libpqxx exception `fn` lets escape is mapped by the
// one mapper (postgres_error.h), labelled with `name` (a query or operation name, never data);
// every call is bounded: acquire_timeout for a connection, connect_timeout if it must be
// opened, statement_timeout per statement, and at most kMaxTransactionAttempts attempts; the
// pool heals by itself after an outage. Does not migrate (migrations.h). `fn` runs on the
// calling thread with exclusive use of one connection, and must not call back into the same
// Database (it would wait for a second connection). Thread-safe.
class Database {
 public:
  // Validates `options` (INVALID_ARGUMENT), opens one connection (UNAVAILABLE if the database
  // cannot be reached) and checks the schema version: FAILED_PRECONDITION
  // "schema version N, expected M: run `tokend migrate`" unless it is LatestSchemaVersion().
  static absl::StatusOr<std::unique_ptr<Database>> Connect(const PostgresOptions& options);

  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database();

  // `fn(pqxx::nontransaction&)` in autocommit mode (each statement commits by itself), once.
  // Returns what `fn` returns (absl::Status or absl::StatusOr<T>), or the mapped error.
  template <typename Fn>
  auto Run(absl::string_view name, Fn&& fn) -> std::invoke_result_t<Fn&, pqxx::nontransaction&>;

  // `fn(pqxx::work&)` in one READ COMMITTED transaction, which `fn` commits itself
  // (tx.commit(), as userver's trx.Commit()); whatever `fn` leaves uncommitted, by an early
  // return or an exception, is rolled back before the connection goes back to the pool. When
  // the attempt ends ABORTED (serialization failure, deadlock, or an ABORTED `fn` returned
  // itself, such as a compare-and-set that found a changed state) the whole transaction is run
  // again on a fresh lease, at most kMaxTransactionAttempts times in all; `fn` must therefore
  // be safe to repeat. A commit whose outcome is unknown is UNAVAILABLE and never retried.
  template <typename Fn>
  auto RunInTransaction(absl::string_view name, Fn&& fn) -> std::invoke_result_t<Fn&, pqxx::work&>;

  PostgresPoolStats pool_stats() const { return pool_->stats(); }

 private:
  explicit Database(std::unique_ptr<ConnectionPool> pool) : pool_(std::move(pool)) {}

  // One attempt: `fn(tx)` on a leased connection, libpqxx exceptions mapped.
  template <typename Tx, typename Fn>
  auto OnLease(absl::string_view name, Fn& fn) -> std::invoke_result_t<Fn&, Tx&>;

  std::unique_ptr<ConnectionPool> pool_;
};

template <typename Fn>
auto Database::Run(absl::string_view name, Fn&& fn)
    -> std::invoke_result_t<Fn&, pqxx::nontransaction&> {
  return OnLease<pqxx::nontransaction>(name, fn);
}

template <typename Fn>
auto Database::RunInTransaction(absl::string_view name, Fn&& fn)
    -> std::invoke_result_t<Fn&, pqxx::work&> {
  return RetryWhileAborted(kMaxTransactionAttempts, [&] { return OnLease<pqxx::work>(name, fn); });
}

template <typename Tx, typename Fn>
auto Database::OnLease(absl::string_view name, Fn& fn) -> std::invoke_result_t<Fn&, Tx&> {
  absl::StatusOr<ConnectionPool::Lease> lease = pool_->Acquire();
  if (!lease.ok()) return lease.status();
  try {
    // Destroyed before the lease, during unwinding too: an uncommitted transaction is rolled
    // back before its connection goes back to the pool.
    Tx tx(lease->connection());
    return fn(tx);
  } catch (...) {
    return StatusFromException(std::current_exception(), name);
  }
}

}  // namespace tokend::storage::pg
