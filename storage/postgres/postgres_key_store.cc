#include "storage/postgres/postgres_key_store.h"

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "absl/strings/str_cat.h"
#include "pqxx/binarystring"
#include "pqxx/nontransaction"
#include "pqxx/result"
#include "pqxx/transaction"
#include "storage/postgres/database.h"
#include "storage/postgres/pg_values.h"
#include "storage/postgres/postgres_error.h"
#include "storage/postgres/queries.h"
#include "storage/validation.h"
#include "util/status_macros.h"

namespace tokend::storage {
namespace {

// Key operations are rare: a small pool is plenty and leaves connections to the token store.
constexpr int kMaxPoolSize = 2;

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

}  // namespace

PostgresKeyStore::PostgresKeyStore(std::unique_ptr<pg::Database> db) : db_(std::move(db)) {}

PostgresKeyStore::~PostgresKeyStore() = default;

absl::StatusOr<std::unique_ptr<PostgresKeyStore>> PostgresKeyStore::Connect(
    const PostgresOptions& options) {
  PostgresOptions small = options;
  small.pool_size = std::min(options.pool_size, kMaxPoolSize);
  TOKEND_ASSIGN_OR_RETURN(std::unique_ptr<pg::Database> db, pg::Database::Connect(small));
  return std::unique_ptr<PostgresKeyStore>(new PostgresKeyStore(std::move(db)));
}

absl::StatusOr<std::vector<SigningKeyRecord>> PostgresKeyStore::ListKeys() {
  return db_->Run(pg::kListSigningKeys.name,
                  [&](pqxx::nontransaction& tx) -> absl::StatusOr<std::vector<SigningKeyRecord>> {
                    const pqxx::result rows = tx.exec_prepared(pg::kListSigningKeys.name);
                    std::vector<SigningKeyRecord> keys;
                    keys.reserve(rows.size());
                    for (const auto& row : rows) keys.push_back(ReadKeyRecord(row));
                    return keys;
                  });
}

absl::Status PostgresKeyStore::InsertKey(const SigningKeyRecord& record) {
  TOKEND_RETURN_IF_ERROR(ValidateNewSigningKey(record));
  return db_->RunInTransaction(pg::kInsertSigningKey.name, [&](pqxx::work& tx) -> absl::Status {
    Insert(tx, record);
    Notify(tx, record.kid);
    tx.commit();
    return absl::OkStatus();
  });
}

absl::Status PostgresKeyStore::Rotate(const KeyRotation& rotation) {
  absl::Status status =
      db_->RunInTransaction("rotate_signing_key", [&](pqxx::work& tx) -> absl::Status {
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
  return db_->RunInTransaction(pg::kRescheduleNextKey.name, [&](pqxx::work& tx) -> absl::Status {
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
  return db_->RunInTransaction(
      pg::kRemoveExpiredKeys.name, [&](pqxx::work& tx) -> absl::StatusOr<std::vector<std::string>> {
        const pqxx::result rows =
            tx.exec_prepared(pg::kRemoveExpiredKeys.name, pg::ToDbMicros(now));
        std::vector<std::string> removed;
        for (const auto& row : rows) removed.push_back(row[0].as<std::string>());
        if (!removed.empty()) Notify(tx, "*");
        tx.commit();
        return removed;
      });
}

absl::StatusOr<KeyRemovalResult> PostgresKeyStore::RemoveKey(const KeyRemoval& removal) {
  if (!IsStorableText(removal.kid) || !IsStorableText(removal.reason)) {
    return absl::InvalidArgumentError("remove: kid or reason is not valid UTF-8 text");
  }
  if (removal.replacement.has_value()) {
    TOKEND_RETURN_IF_ERROR(ValidateNewSigningKey(*removal.replacement));
  }
  return db_->RunInTransaction(
      "remove_signing_key", [&](pqxx::work& tx) -> absl::StatusOr<KeyRemovalResult> {
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
  return db_->RunInTransaction("rewrap_signing_keys", [&](pqxx::work& tx) -> absl::Status {
    tx.exec(pg::kLockSigningKeysTable.sql);
    for (const KeyRewrap& rewrap : rewraps) {
      if (tx.exec_prepared(pg::kRewrapSigningKey.name, rewrap.kid, rewrap.from_kek_id,
                           Bytes(rewrap.encrypted_private_key), to_kek_id)
              .affected_rows() != 1) {
        return absl::AbortedError("rewrap: a key changed since it was read");
      }
    }
    if (tx.exec_prepared(pg::kCountKeysUnderOtherKek.name, to_kek_id).at(0).at(0).as<int64_t>() !=
        0) {
      return absl::AbortedError("rewrap: a key under another KEK was not rewrapped");
    }
    if (!rewraps.empty()) Notify(tx, "*");
    tx.commit();
    return absl::OkStatus();
  });
}

}  // namespace tokend::storage
