#include "storage/postgres/postgres_key_store.h"

#include <algorithm>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "pqxx/binarystring"
#include "pqxx/nontransaction"
#include "pqxx/result"
#include "pqxx/transaction"
#include "storage/postgres/connection_pool.h"
#include "storage/postgres/connection_string.h"
#include "storage/postgres/migrations.h"
#include "storage/postgres/pg_values.h"
#include "storage/postgres/postgres_error.h"
#include "storage/postgres/queries.h"
#include "storage/validation.h"
#include "util/status_macros.h"

namespace tokend::storage {
namespace {

// Serialization failures and deadlocks are retried this many times in all.
constexpr int kMaxAttempts = 3;
// Key operations are rare: a small pool is plenty and leaves connections to the token store.
constexpr int kMaxPoolSize = 2;

// Runs `fn(connection)` on a pooled connection and maps any libpqxx exception (CONVENTIONS §4).
// A transaction `fn` opened is rolled back by its destructor during unwinding or early return.
template <typename Fn>
auto WithConnection(pg::ConnectionPool& pool, absl::string_view operation, Fn&& fn)
    -> std::invoke_result_t<Fn, pqxx::connection&> {
  absl::StatusOr<pg::ConnectionPool::Lease> lease = pool.Acquire();
  if (!lease.ok()) return lease.status();
  try {
    return fn(lease->connection());
  } catch (...) {
    return pg::StatusFromException(std::current_exception(), operation);
  }
}

const absl::Status& StatusOf(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& StatusOf(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

// Runs `once()` again while it fails with ABORTED (serialization failure, deadlock), at most
// kMaxAttempts times in all. A compare-and-set that found a changed state is also ABORTED;
// retrying it is harmless (it finds the same state again).
template <typename Fn>
auto Retrying(Fn&& once) -> std::invoke_result_t<Fn> {
  std::invoke_result_t<Fn> result = once();
  for (int attempt = 1;
       attempt < kMaxAttempts && StatusOf(result).code() == absl::StatusCode::kAborted; ++attempt) {
    result = once();
  }
  return result;
}

pqxx::binarystring Bytes(const std::string& bytes) { return pqxx::binarystring(bytes); }

// Reads the columns of TOKEND_PG_KEY_COLUMNS (queries.h), in order.
SigningKeyRecord ReadKeyRecord(const pqxx::row& row) {
  SigningKeyRecord record;
  record.kid = row[0].as<std::string>();
  record.algorithm = row[1].as<std::string>();
  const std::optional<KeyState> state = ParseKeyState(row[2].as<std::string>());
  if (!state.has_value()) throw std::runtime_error("unknown signing key state in the database");
  record.state = *state;
  record.encrypted_private_key = pqxx::binarystring(row[3]).str();
  record.public_jwk_json = row[4].as<std::string>();
  record.kek_id = row[5].as<std::string>();
  record.origin = row[6].as<std::string>();
  record.created_at = pg::FromDbMicros(row[7].as<int64_t>());
  record.activates_at = pg::FromDbMicros(row[8].as<int64_t>());
  record.retires_at = pg::FromDbMicros(row[9].as<int64_t>());
  record.remove_after = pg::FromDbMicros(row[10].as<int64_t>());
  record.removed_at = pg::FromDbMicros(row[11].as<int64_t>());
  record.removal_reason = row[12].as<std::string>();
  return record;
}

void Insert(pqxx::transaction_base& tx, const SigningKeyRecord& record) {
  tx.exec_prepared(pg::kInsertSigningKey.name, record.kid, record.algorithm,
                   std::string(KeyStateName(record.state)), Bytes(record.encrypted_private_key),
                   record.public_jwk_json, record.kek_id, record.origin,
                   pg::ToDbMicros(record.created_at), pg::ToDbMicros(record.activates_at),
                   pg::ToDbMicros(record.retires_at), pg::ToDbMicros(record.remove_after));
}

void Notify(pqxx::transaction_base& tx, const std::string& what) {
  tx.exec_prepared(pg::kNotifyKeyChange.name, what);
}

absl::Status ValidateOptions(const PostgresOptions& options) {
  if (options.dsn.empty()) return absl::InvalidArgumentError("postgres: empty DSN");
  if (options.pool_size < 1) return absl::InvalidArgumentError("postgres: pool_size < 1");
  if (options.statement_timeout <= absl::ZeroDuration() ||
      options.acquire_timeout <= absl::ZeroDuration() ||
      options.connect_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("postgres: timeouts must be positive");
  }
  return absl::OkStatus();
}

}  // namespace

PostgresKeyStore::PostgresKeyStore(std::unique_ptr<pg::ConnectionPool> pool)
    : pool_(std::move(pool)) {}

PostgresKeyStore::~PostgresKeyStore() = default;

absl::StatusOr<std::unique_ptr<PostgresKeyStore>> PostgresKeyStore::Connect(
    const PostgresOptions& options) {
  TOKEND_RETURN_IF_ERROR(ValidateOptions(options));
  pg::ConnectionPool::Options pool_options;
  pool_options.connection_string = pg::ConnectionStringFor(options);
  pool_options.size = std::min(options.pool_size, kMaxPoolSize);
  pool_options.acquire_timeout = options.acquire_timeout;
  pool_options.statement_timeout = options.statement_timeout;
  auto pool = std::make_unique<pg::ConnectionPool>(std::move(pool_options));
  TOKEND_ASSIGN_OR_RETURN(
      const int version,
      WithConnection(*pool, pg::kSchemaVersion.name,
                     [](pqxx::connection& connection) -> absl::StatusOr<int> {
                       pqxx::nontransaction tx(connection);
                       try {
                         return tx.exec_prepared(pg::kSchemaVersion.name).at(0).at(0).as<int>();
                       } catch (const pqxx::undefined_table&) {
                         return 0;  // no schema_migrations: never migrated
                       }
                     }));
  const int expected = LatestSchemaVersion();
  if (version != expected) {
    return absl::FailedPreconditionError(absl::StrCat("schema version ", version, ", expected ",
                                                      expected, ": run `tokend migrate`"));
  }
  return std::unique_ptr<PostgresKeyStore>(new PostgresKeyStore(std::move(pool)));
}

absl::StatusOr<std::vector<SigningKeyRecord>> PostgresKeyStore::ListKeys() {
  return WithConnection(
      *pool_, pg::kListSigningKeys.name,
      [&](pqxx::connection& connection) -> absl::StatusOr<std::vector<SigningKeyRecord>> {
        pqxx::nontransaction tx(connection);
        const pqxx::result rows = tx.exec_prepared(pg::kListSigningKeys.name);
        std::vector<SigningKeyRecord> keys;
        keys.reserve(rows.size());
        for (const auto& row : rows) keys.push_back(ReadKeyRecord(row));
        return keys;
      });
}

absl::Status PostgresKeyStore::InsertKey(const SigningKeyRecord& record) {
  TOKEND_RETURN_IF_ERROR(ValidateNewSigningKey(record));
  return WithConnection(*pool_, pg::kInsertSigningKey.name,
                        [&](pqxx::connection& connection) -> absl::Status {
                          pqxx::work tx(connection);
                          Insert(tx, record);
                          Notify(tx, record.kid);
                          tx.commit();
                          return absl::OkStatus();
                        });
}

absl::Status PostgresKeyStore::Rotate(const KeyRotation& rotation) {
  return Retrying([&] { return RotateOnce(rotation); });
}

absl::Status PostgresKeyStore::RotateOnce(const KeyRotation& rotation) {
  absl::Status status = WithConnection(
      *pool_, "rotate_signing_key", [&](pqxx::connection& connection) -> absl::Status {
        pqxx::work tx(connection);
        if (rotation.retiring_kid.empty()) {
          if (!tx.exec_prepared(pg::kLockActiveKey.name).empty()) {
            return absl::AbortedError("rotate: the active key changed");
          }
        } else if (tx.exec_prepared(pg::kRetireActiveKey.name, rotation.retiring_kid,
                                    pg::ToDbMicros(rotation.now),
                                    pg::ToDbMicros(rotation.remove_after))
                       .affected_rows() != 1) {
          return absl::AbortedError("rotate: the active key changed");
        }
        if (tx.exec_prepared(pg::kActivateNextKey.name, rotation.activating_kid,
                             pg::ToDbMicros(rotation.now))
                .affected_rows() != 1) {
          return absl::AbortedError("rotate: the key to activate is no longer the next key");
        }
        Notify(tx, rotation.activating_kid);
        tx.commit();
        return absl::OkStatus();
      });
  // A concurrent promotion surfaces as a unique violation: the caller's view is stale.
  if (status.code() == absl::StatusCode::kAlreadyExists) {
    return absl::AbortedError("rotate: another key became active concurrently");
  }
  return status;
}

absl::Status PostgresKeyStore::RescheduleNext(const std::string& kid, absl::Time activates_at) {
  return WithConnection(
      *pool_, pg::kRescheduleNextKey.name, [&](pqxx::connection& connection) -> absl::Status {
        pqxx::work tx(connection);
        if (tx.exec_prepared(pg::kRescheduleNextKey.name, kid, pg::ToDbMicros(activates_at))
                .affected_rows() != 1) {
          return absl::AbortedError("reschedule: the key is no longer the next key");
        }
        Notify(tx, kid);
        tx.commit();
        return absl::OkStatus();
      });
}

absl::StatusOr<std::vector<std::string>> PostgresKeyStore::RemoveExpired(absl::Time now) {
  return Retrying([&] {
    return WithConnection(
        *pool_, pg::kRemoveExpiredKeys.name,
        [&](pqxx::connection& connection) -> absl::StatusOr<std::vector<std::string>> {
          pqxx::work tx(connection);
          const pqxx::result rows =
              tx.exec_prepared(pg::kRemoveExpiredKeys.name, pg::ToDbMicros(now));
          std::vector<std::string> removed;
          for (const auto& row : rows) removed.push_back(row[0].as<std::string>());
          if (!removed.empty()) Notify(tx, "*");
          tx.commit();
          return removed;
        });
  });
}

absl::StatusOr<KeyRemovalResult> PostgresKeyStore::RemoveKey(const KeyRemoval& removal) {
  if (!IsStorableText(removal.kid) || !IsStorableText(removal.reason)) {
    return absl::InvalidArgumentError("remove: kid or reason is not valid UTF-8 text");
  }
  if (removal.replacement.has_value()) {
    TOKEND_RETURN_IF_ERROR(ValidateNewSigningKey(*removal.replacement));
  }
  return Retrying([&] { return RemoveKeyOnce(removal); });
}

absl::StatusOr<KeyRemovalResult> PostgresKeyStore::RemoveKeyOnce(const KeyRemoval& removal) {
  return WithConnection(
      *pool_, "remove_signing_key",
      [&](pqxx::connection& connection) -> absl::StatusOr<KeyRemovalResult> {
        pqxx::work tx(connection);
        // Locks in the order rotations take them (active, then next): no lock-order deadlock.
        const pqxx::result target = tx.exec_prepared(pg::kLockSigningKey.name, removal.kid);
        if (target.empty()) return absl::NotFoundError("remove: no such signing key");
        const std::optional<KeyState> state = ParseKeyState(target[0][0].as<std::string>());
        if (!state.has_value()) {
          return absl::InternalError("remove: unknown signing key state in the database");
        }
        KeyRemovalResult result;
        result.previous_state = *state;
        if (*state == KeyState::kRemoved) return result;  // idempotent; rolled back, nothing sent
        const int64_t now = pg::ToDbMicros(removal.now);
        if (*state == KeyState::kActive) {
          const pqxx::result next = tx.exec_prepared(pg::kLockNextKey.name);
          if (next.empty() && !removal.replacement.has_value()) {
            return absl::FailedPreconditionError(
                "remove: the active key has no successor (no next key and no replacement)");
          }
          tx.exec_prepared(pg::kRemoveSigningKey.name, removal.kid, now, removal.reason);
          if (!next.empty()) {
            result.new_active_kid = next[0][0].as<std::string>();
            tx.exec_prepared(pg::kActivateNextKey.name, result.new_active_kid, now);
          } else {
            SigningKeyRecord replacement = *removal.replacement;
            replacement.state = KeyState::kActive;
            replacement.activates_at = removal.now;
            Insert(tx, replacement);
            result.new_active_kid = replacement.kid;
          }
        } else {
          tx.exec_prepared(pg::kRemoveSigningKey.name, removal.kid, now, removal.reason);
        }
        Notify(tx, removal.kid);
        tx.commit();
        return result;
      });
}

absl::Status PostgresKeyStore::RewrapKeys(const std::vector<KeyRewrap>& rewraps,
                                          const std::string& to_kek_id) {
  if (to_kek_id.empty()) return absl::InvalidArgumentError("rewrap: empty kek_id");
  for (const KeyRewrap& rewrap : rewraps) {
    if (rewrap.encrypted_private_key.empty()) {
      return absl::InvalidArgumentError("rewrap: empty encrypted private key");
    }
  }
  return Retrying([&] { return RewrapOnce(rewraps, to_kek_id); });
}

absl::Status PostgresKeyStore::RewrapOnce(const std::vector<KeyRewrap>& rewraps,
                                          const std::string& to_kek_id) {
  return WithConnection(
      *pool_, "rewrap_signing_keys", [&](pqxx::connection& connection) -> absl::Status {
        pqxx::work tx(connection);
        tx.exec(pg::kLockSigningKeysTable.sql);
        for (const KeyRewrap& rewrap : rewraps) {
          if (tx.exec_prepared(pg::kRewrapSigningKey.name, rewrap.kid, rewrap.from_kek_id,
                               Bytes(rewrap.encrypted_private_key), to_kek_id)
                  .affected_rows() != 1) {
            return absl::AbortedError("rewrap: a key changed since it was read");
          }
        }
        if (tx.exec_prepared(pg::kCountKeysUnderOtherKek.name, to_kek_id)
                .at(0)
                .at(0)
                .as<int64_t>() != 0) {
          return absl::AbortedError("rewrap: a key under another KEK was not rewrapped");
        }
        if (!rewraps.empty()) Notify(tx, "*");
        tx.commit();
        return absl::OkStatus();
      });
}

}  // namespace tokend::storage
