#include "storage/postgres/postgres_token_store.h"

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
#include "storage/postgres/revocation_payload.h"
#include "storage/rotation_decision.h"
#include "storage/validation.h"
#include "util/status_macros.h"

namespace tokend::storage {
namespace {

pqxx::binarystring Bytes(const std::string& bytes) { return pqxx::binarystring(bytes); }

std::vector<std::string> ReadTextArray(const pqxx::field& field) {
  std::vector<std::string> values;
  pqxx::array_parser parser = field.as_array();
  int depth = 0;
  while (true) {
    auto [juncture, value] = parser.get_next();
    switch (juncture) {
      case pqxx::array_parser::row_start:
        if (++depth > 1) throw std::runtime_error("nested array");
        break;
      case pqxx::array_parser::row_end:
        --depth;
        break;
      case pqxx::array_parser::null_value:
        throw std::runtime_error("NULL in text array");
      case pqxx::array_parser::string_value:
        values.push_back(std::move(value));
        break;
      case pqxx::array_parser::done:
        return values;
    }
  }
}

// Reads the columns of TOKEND_PG_TOKEN_COLUMNS (queries.h), in order.
RefreshTokenRecord ReadRecord(const pqxx::row& row) {
  RefreshTokenRecord record;
  record.token_hash = pqxx::binarystring(row[0]).str();
  record.family_id = row[1].as<std::string>();
  record.parent_hash = pqxx::binarystring(row[2]).str();
  record.subject = row[3].as<std::string>();
  record.client_id = row[4].as<std::string>();
  record.audiences = ReadTextArray(row[5]);
  record.scopes = ReadTextArray(row[6]);
  record.custom_claims_json = row[7].as<std::string>();
  record.issued_at = pg::FromDbMicros(row[8].as<int64_t>());
  record.expires_at = pg::FromDbMicros(row[9].as<int64_t>());
  record.family_expires_at = pg::FromDbMicros(row[10].as<int64_t>());
  if (!row[11].is_null()) record.spent_at = pg::FromDbMicros(row[11].as<int64_t>());
  record.child_hash = pqxx::binarystring(row[12]).str();
  record.family_revoked = row[13].as<bool>();
  return record;
}

// Reads kind, key, not_before, expires_at, revoked_at, reason.
Revocation ReadRevocation(const pqxx::row& row) {
  Revocation revocation;
  const auto kind = pg::ParseRevocationKind(row[0].as<std::string>());
  if (!kind.has_value()) throw std::runtime_error("unknown revocation kind in the database");
  revocation.kind = *kind;
  revocation.key = row[1].as<std::string>();
  revocation.not_before = pg::FromDbMicros(row[2].as<int64_t>());
  revocation.expires_at = pg::FromDbMicros(row[3].as<int64_t>());
  revocation.revoked_at = pg::FromDbMicros(row[4].as<int64_t>());
  revocation.reason = row[5].as<std::string>();
  return revocation;
}

// The family row of a new family's first token (a no-op if the family exists).
void InsertFamily(pqxx::transaction_base& tx, const RefreshTokenRecord& record) {
  tx.exec_prepared(pg::kInsertFamily.name, record.family_id, record.subject, record.client_id,
                   pg::ToDbMicros(record.issued_at), pg::ToDbMicros(record.family_expires_at));
}

void InsertToken(pqxx::transaction_base& tx, const RefreshTokenRecord& record) {
  tx.exec_prepared(pg::kInsertRefreshToken.name, Bytes(record.token_hash), record.family_id,
                   Bytes(record.parent_hash), record.subject, record.client_id,
                   pg::EncodeTextArray(record.audiences), pg::EncodeTextArray(record.scopes),
                   record.custom_claims_json, pg::ToDbMicros(record.issued_at),
                   pg::ToDbMicros(record.expires_at), pg::ToDbMicros(record.family_expires_at));
}

// Marks the families a revocation covers, upserts it and notifies listeners of the row as
// stored, all in the caller's transaction. Families are updated before the revocation row so
// every writer takes the family locks first (as rotations do): no lock-order deadlock.
void RecordRevocation(pqxx::transaction_base& tx, const Revocation& revocation) {
  const int64_t revoked_at = pg::ToDbMicros(revocation.revoked_at);
  if (revocation.kind == Revocation::Kind::kFamily) {
    tx.exec_prepared(pg::kRevokeFamily.name, revocation.key, revoked_at, revocation.reason);
  } else if (revocation.kind == Revocation::Kind::kSubject) {
    tx.exec_prepared(pg::kRevokeSubjectFamilies.name, revocation.key, revoked_at,
                     revocation.reason);
  }
  const pqxx::result stored = tx.exec_prepared(
      pg::kUpsertRevocation.name, std::string(pg::RevocationKindName(revocation.kind)),
      revocation.key, pg::ToDbMicros(revocation.not_before), pg::ToDbMicros(revocation.expires_at),
      revoked_at, revocation.reason);
  tx.exec_prepared(pg::kNotifyRevocation.name,
                   pg::EncodeRevocationPayload(ReadRevocation(stored.at(0))));
}

// INVALID_ARGUMENT if the notification for a revocation of `kind` on `key` could exceed the
// payload limit, whatever its times (INT64_MIN is the longest number).
absl::Status CheckPayloadSize(Revocation::Kind kind, const std::string& key) {
  Revocation longest;
  longest.kind = kind;
  longest.key = key;
  longest.not_before = longest.expires_at = longest.revoked_at = absl::InfinitePast();
  if (pg::EncodeRevocationPayload(longest).size() > pg::kMaxRevocationPayloadBytes) {
    return absl::InvalidArgumentError(absl::StrCat("revocation key too long: notification over ",
                                                   pg::kMaxRevocationPayloadBytes, " bytes"));
  }
  return absl::OkStatus();
}

}  // namespace

PostgresTokenStore::PostgresTokenStore(std::unique_ptr<pg::Database> db) : db_(std::move(db)) {}

PostgresTokenStore::~PostgresTokenStore() = default;

absl::StatusOr<std::unique_ptr<PostgresTokenStore>> PostgresTokenStore::Connect(
    const PostgresOptions& options) {
  TOKEND_ASSIGN_OR_RETURN(std::unique_ptr<pg::Database> db, pg::Database::Connect(options));
  return std::unique_ptr<PostgresTokenStore>(new PostgresTokenStore(std::move(db)));
}

absl::Status PostgresTokenStore::InsertRefreshToken(const RefreshTokenRecord& record) {
  TOKEND_RETURN_IF_ERROR(ValidateNewRefreshToken(record));
  TOKEND_RETURN_IF_ERROR(CheckPayloadSize(Revocation::Kind::kFamily, record.family_id));
  return db_->RunInTransaction(pg::kInsertRefreshToken.name, [&](pqxx::work& tx) -> absl::Status {
    InsertFamily(tx, record);
    InsertToken(tx, record);
    tx.commit();
    return absl::OkStatus();
  });
}

absl::StatusOr<std::optional<RefreshTokenRecord>> PostgresTokenStore::FindRefreshToken(
    const std::string& token_hash) {
  return db_->Run(
      pg::kFindRefreshToken.name,
      [&](pqxx::nontransaction& tx) -> absl::StatusOr<std::optional<RefreshTokenRecord>> {
        const pqxx::result rows = tx.exec_prepared(pg::kFindRefreshToken.name, Bytes(token_hash));
        if (rows.empty()) return std::optional<RefreshTokenRecord>();
        return std::optional<RefreshTokenRecord>(ReadRecord(rows[0]));
      });
}

absl::StatusOr<RotateResult> PostgresTokenStore::RotateRefreshToken(const RotateRequest& request) {
  TOKEND_RETURN_IF_ERROR(ValidateRotateRequest(request));
  return db_->RunInTransaction(
      "rotate_refresh_token", [&](pqxx::work& tx) -> absl::StatusOr<RotateResult> {
        const pqxx::result rows =
            tx.exec_prepared(pg::kLockParentForRotation.name, Bytes(request.parent_hash));
        if (rows.empty()) {
          tx.commit();
          return RotateResult{RotateOutcome::kNotFound, std::nullopt, std::nullopt};
        }
        // Decided here, under the row locks, so nothing can change between the decision and
        // its writes; a refused request (kClientMismatch, kScopeNotGranted) writes nothing.
        RefreshTokenRecord parent = ReadRecord(rows[0]);
        const RotateOutcome outcome = DecideRotation(parent, request);
        std::optional<RefreshTokenRecord> child;
        switch (outcome) {
          case RotateOutcome::kRotated:
            child = ChildOf(parent, request.child, request.now);
            tx.exec_prepared(pg::kMarkSpent.name, Bytes(request.parent_hash),
                             pg::ToDbMicros(request.now), Bytes(request.child.token_hash));
            InsertToken(tx, *child);  // its family is the parent's, locked above
            break;
          case RotateOutcome::kGraceRetry:
            child = ChildOf(parent, request.child, *parent.spent_at);
            break;
          case RotateOutcome::kReuseDetected:
            if (!parent.family_revoked) {  // a family is revoked (and announced) once
              RecordRevocation(tx,
                               FamilyRevocation(parent, request.now, request.access_token_margin,
                                                request.reuse_reason));
            }
            break;
          case RotateOutcome::kNotFound:
          case RotateOutcome::kExpired:
          case RotateOutcome::kRevoked:
          case RotateOutcome::kClientMismatch:
          case RotateOutcome::kScopeNotGranted:
            break;
        }
        tx.commit();
        return RotateResult{outcome, std::move(parent), std::move(child)};
      });
}

absl::Status PostgresTokenStore::AddRevocation(const Revocation& revocation) {
  TOKEND_RETURN_IF_ERROR(ValidateRevocation(revocation));
  TOKEND_RETURN_IF_ERROR(CheckPayloadSize(revocation.kind, revocation.key));
  return db_->RunInTransaction(pg::kUpsertRevocation.name, [&](pqxx::work& tx) -> absl::Status {
    RecordRevocation(tx, revocation);
    tx.commit();
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<Revocation>> PostgresTokenStore::ListLiveRevocations(absl::Time now) {
  return db_->Run(pg::kListLiveRevocations.name,
                  [&](pqxx::nontransaction& tx) -> absl::StatusOr<std::vector<Revocation>> {
                    const pqxx::result rows =
                        tx.exec_prepared(pg::kListLiveRevocations.name, pg::ToDbMicros(now));
                    std::vector<Revocation> live;
                    live.reserve(rows.size());
                    for (const auto& row : rows) live.push_back(ReadRevocation(row));
                    return live;
                  });
}

absl::StatusOr<int64_t> PostgresTokenStore::PruneExpired(absl::Time now, int batch) {
  if (batch <= 0) return absl::InvalidArgumentError("batch must be positive");
  // Autocommit: each batch holds its locks only for its own statement.
  return db_->Run("prune_expired", [&](pqxx::nontransaction& tx) -> absl::StatusOr<int64_t> {
    const int64_t micros = pg::ToDbMicros(now);
    int64_t deleted = 0;
    for (const pg::Query& query :
         {pg::kPruneRevocations, pg::kPruneRefreshTokens, pg::kPruneFamilies}) {
      deleted += static_cast<int64_t>(tx.exec_prepared(query.name, micros, batch).affected_rows());
    }
    return deleted;
  });
}

absl::Status PostgresTokenStore::Ping() {
  return db_->Run(pg::kPing.name, [](pqxx::nontransaction& tx) -> absl::Status {
    tx.exec_prepared(pg::kPing.name);
    return absl::OkStatus();
  });
}

PostgresPoolStats PostgresTokenStore::pool_stats() const { return db_->pool_stats(); }

}  // namespace tokend::storage
