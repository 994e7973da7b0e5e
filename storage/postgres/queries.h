#pragma once

// Every SQL statement PostgresTokenStore, PostgresKeyStore, their pool, feeds and the migrator
// send, as a named constant with $n parameters only (never string concatenation of values). The
// name is the prepared statement's name and labels errors and logs. [userver Query::Name]
//
// Times cross the wire as int64 Unix microseconds and are converted in SQL by
// tokend_micros_to_ts / tokend_ts_to_micros (V0001), which map the int64 extremes to
// -infinity / infinity so absl::InfinitePast() and InfiniteFuture() round-trip. Hashes are
// bytea parameters sent in binary. Arrays are text[] literals built by EncodeTextArray.
//
// The only SQL not here: the migration files themselves (embedded from migrations/), the
// LISTEN issued by libpqxx for the feed's channel, and CREATE/DROP DATABASE in
// database_admin.cc, whose identifier cannot be a parameter (it is validated and quoted there).

namespace tokend::storage::pg {

struct Query {
  const char* name;
  const char* sql;
};

inline constexpr char kRevocationChannel[] = "tokend_revocations";

// ---- session set-up and health -------------------------------------------------------------

inline constexpr Query kSetStatementTimeout{"set_statement_timeout",
                                            "SELECT set_config('statement_timeout', $1, false)"};

inline constexpr Query kPing{"ping", "SELECT 1"};

inline constexpr Query kSchemaVersion{"schema_version",
                                      "SELECT coalesce(max(version), 0) FROM schema_migrations"};

inline constexpr Query kIsListening{
    "is_listening", "SELECT count(*) FROM pg_listening_channels() AS c(name) WHERE c.name = $1"};

// ---- refresh tokens ------------------------------------------------------------------------

// Column list shared by every statement that reads a RefreshTokenRecord (see ReadRecord).
#define TOKEND_PG_TOKEN_COLUMNS                                                             \
  "t.token_hash, t.family_id, coalesce(t.parent_hash, ''::bytea), t.subject, t.client_id, " \
  "t.audiences, t.scopes, t.custom_claims, tokend_ts_to_micros(t.issued_at), "              \
  "tokend_ts_to_micros(t.expires_at), tokend_ts_to_micros(t.family_expires_at), "           \
  "tokend_ts_to_micros(t.spent_at), coalesce(t.child_hash, ''::bytea), "                    \
  "f.revoked_at IS NOT NULL"

// A family row is created with its first token; later tokens of the family find it there.
inline constexpr Query kInsertFamily{
    "insert_family",
    "INSERT INTO refresh_families (family_id, subject, client_id, created_at, expires_at) "
    "VALUES ($1, $2, $3, tokend_micros_to_ts($4), tokend_micros_to_ts($5)) "
    "ON CONFLICT (family_id) DO NOTHING"};

inline constexpr Query kInsertRefreshToken{
    "insert_refresh_token",
    "INSERT INTO refresh_tokens (token_hash, family_id, parent_hash, subject, client_id, "
    "audiences, scopes, custom_claims, issued_at, expires_at, family_expires_at) "
    "VALUES ($1, $2, NULLIF($3, ''::bytea), $4, $5, $6::text[], $7::text[], $8, "
    "tokend_micros_to_ts($9), tokend_micros_to_ts($10), tokend_micros_to_ts($11))"};

inline constexpr Query kFindRefreshToken{
    "find_refresh_token",
    "SELECT " TOKEND_PG_TOKEN_COLUMNS
    " FROM refresh_tokens t JOIN refresh_families f ON f.family_id = t.family_id "
    "WHERE t.token_hash = $1"};

// Locks the parent and its family: concurrent rotations of one parent, and a revocation of its
// family, serialize on these rows. DecideRotation runs on the row read here, and its writes
// (kMarkSpent and the child's insert, or the reuse's family revocation) follow in the same
// transaction; a refused rotation writes nothing.
inline constexpr Query kLockParentForRotation{
    "lock_parent_for_rotation",
    "SELECT " TOKEND_PG_TOKEN_COLUMNS
    " FROM refresh_tokens t JOIN refresh_families f ON f.family_id = t.family_id "
    "WHERE t.token_hash = $1 FOR UPDATE OF t, f"};

inline constexpr Query kMarkSpent{
    "mark_spent",
    "UPDATE refresh_tokens SET spent_at = tokend_micros_to_ts($2), child_hash = $3 "
    "WHERE token_hash = $1 AND spent_at IS NULL"};

#undef TOKEND_PG_TOKEN_COLUMNS

// ---- revocations ---------------------------------------------------------------------------

inline constexpr Query kRevokeFamily{
    "revoke_family",
    "UPDATE refresh_families SET revoked_at = tokend_micros_to_ts($2), revoke_reason = $3 "
    "WHERE family_id = $1 AND revoked_at IS NULL"};

// Locks the subject's families in key order, so two revocations of one subject cannot deadlock.
inline constexpr Query kRevokeSubjectFamilies{
    "revoke_subject_families",
    "UPDATE refresh_families SET revoked_at = tokend_micros_to_ts($2), revoke_reason = $3 "
    "WHERE family_id IN (SELECT family_id FROM refresh_families "
    "WHERE subject = $1 AND revoked_at IS NULL ORDER BY family_id FOR UPDATE)"};

// Idempotent for (kind, key): later not_before / expires_at win; the first revoked_at and reason
// stay. Returns the row as stored, which is what listeners are told.
inline constexpr Query kUpsertRevocation{
    "upsert_revocation",
    "INSERT INTO revocations AS r (kind, key, not_before, expires_at, revoked_at, reason) "
    "VALUES ($1, $2, tokend_micros_to_ts($3), tokend_micros_to_ts($4), tokend_micros_to_ts($5), "
    "$6) ON CONFLICT (kind, key) DO UPDATE SET "
    "not_before = GREATEST(r.not_before, EXCLUDED.not_before), "
    "expires_at = GREATEST(r.expires_at, EXCLUDED.expires_at) "
    "RETURNING r.kind, r.key, tokend_ts_to_micros(r.not_before), "
    "tokend_ts_to_micros(r.expires_at), tokend_ts_to_micros(r.revoked_at), r.reason"};

// Sent inside the revoking transaction: PostgreSQL delivers it only if that commits.
inline constexpr Query kNotifyRevocation{"notify_revocation",
                                         "SELECT pg_notify('tokend_revocations', $1)"};

inline constexpr Query kListLiveRevocations{
    "list_live_revocations",
    "SELECT kind, key, tokend_ts_to_micros(not_before), tokend_ts_to_micros(expires_at), "
    "tokend_ts_to_micros(revoked_at), reason FROM revocations "
    "WHERE expires_at > tokend_micros_to_ts($1)"};

// ---- pruning: small batches, each its own statement ----------------------------------------

inline constexpr Query kPruneRevocations{
    "prune_revocations",
    "DELETE FROM revocations WHERE ctid = ANY (ARRAY("
    "SELECT ctid FROM revocations WHERE expires_at <= tokend_micros_to_ts($1) LIMIT $2))"};

inline constexpr Query kPruneRefreshTokens{
    "prune_refresh_tokens",
    "DELETE FROM refresh_tokens WHERE ctid = ANY (ARRAY("
    "SELECT ctid FROM refresh_tokens WHERE family_expires_at <= tokend_micros_to_ts($1) "
    "LIMIT $2))"};

inline constexpr Query kPruneFamilies{
    "prune_families",
    "DELETE FROM refresh_families WHERE ctid = ANY (ARRAY("
    "SELECT f.ctid FROM refresh_families f WHERE f.expires_at <= tokend_micros_to_ts($1) "
    "AND NOT EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.family_id = f.family_id) "
    "LIMIT $2))"};

// ---- signing keys (PostgresKeyStore) -----------------------------------------------------

inline constexpr char kKeyChannel[] = "tokend_keys";

// Column list shared by every statement that reads a SigningKeyRecord (see ReadKeyRecord).
#define TOKEND_PG_KEY_COLUMNS                                                  \
  "kid, algorithm, state, encrypted_private_key, public_jwk, kek_id, origin, " \
  "tokend_ts_to_micros(created_at), tokend_ts_to_micros(activates_at), "       \
  "tokend_ts_to_micros(retires_at), tokend_ts_to_micros(remove_after), "       \
  "tokend_ts_to_micros(removed_at), removal_reason"

inline constexpr Query kListSigningKeys{"list_signing_keys",
                                        "SELECT " TOKEND_PG_KEY_COLUMNS
                                        " FROM signing_keys ORDER BY created_at, kid"};

#undef TOKEND_PG_KEY_COLUMNS

inline constexpr Query kInsertSigningKey{
    "insert_signing_key",
    "INSERT INTO signing_keys (kid, algorithm, state, encrypted_private_key, public_jwk, kek_id, "
    "origin, created_at, activates_at, retires_at, remove_after) VALUES ($1, $2, $3, $4, $5, $6, "
    "$7, tokend_micros_to_ts($8), tokend_micros_to_ts($9), tokend_micros_to_ts($10), "
    "tokend_micros_to_ts($11))"};

// The compare-and-set of a rotation: each UPDATE matches only the state the caller saw, and
// takes the row lock, so a concurrent rotation waits, then matches nothing.
inline constexpr Query kRetireActiveKey{
    "retire_active_key",
    "UPDATE signing_keys SET state = 'retired', retires_at = tokend_micros_to_ts($2), "
    "remove_after = tokend_micros_to_ts($3) WHERE kid = $1 AND state = 'active'"};

inline constexpr Query kLockActiveKey{
    "lock_active_key", "SELECT kid FROM signing_keys WHERE state = 'active' FOR UPDATE"};

inline constexpr Query kActivateNextKey{
    "activate_next_key",
    "UPDATE signing_keys SET state = 'active', activates_at = tokend_micros_to_ts($2) "
    "WHERE kid = $1 AND state = 'next'"};

inline constexpr Query kRescheduleNextKey{
    "reschedule_next_key",
    "UPDATE signing_keys SET activates_at = tokend_micros_to_ts($2) "
    "WHERE kid = $1 AND state = 'next'"};

inline constexpr Query kRemoveExpiredKeys{
    "remove_expired_keys",
    "UPDATE signing_keys SET state = 'removed', encrypted_private_key = ''::bytea, "
    "removed_at = tokend_micros_to_ts($1), removal_reason = 'expired' "
    "WHERE state = 'retired' AND remove_after <= tokend_micros_to_ts($1) RETURNING kid"};

inline constexpr Query kLockSigningKey{"lock_signing_key",
                                       "SELECT state FROM signing_keys WHERE kid = $1 FOR UPDATE"};

inline constexpr Query kLockNextKey{"lock_next_key",
                                    "SELECT kid FROM signing_keys WHERE state = 'next' FOR UPDATE"};

// Emergency removal: erases the ciphertext; retires_at records when it stopped signing.
inline constexpr Query kRemoveSigningKey{
    "remove_signing_key",
    "UPDATE signing_keys SET state = 'removed', encrypted_private_key = ''::bytea, "
    "removed_at = tokend_micros_to_ts($2), removal_reason = $3, "
    "retires_at = LEAST(retires_at, tokend_micros_to_ts($2)) "
    "WHERE kid = $1 AND state <> 'removed'"};

// KEK rotation runs under this lock, so no key can be inserted or changed under the old KEK
// between the re-encryption and the final check. Sent with exec (LOCK cannot be prepared).
inline constexpr Query kLockSigningKeysTable{"lock_signing_keys_table",
                                             "LOCK TABLE signing_keys IN SHARE ROW EXCLUSIVE MODE"};

inline constexpr Query kRewrapSigningKey{
    "rewrap_signing_key",
    "UPDATE signing_keys SET encrypted_private_key = $3, kek_id = $4 "
    "WHERE kid = $1 AND kek_id = $2 AND state <> 'removed'"};

inline constexpr Query kCountKeysUnderOtherKek{
    "count_keys_under_other_kek",
    "SELECT count(*) FROM signing_keys WHERE state <> 'removed' AND kek_id <> $1"};

// Sent inside the changing transaction: PostgreSQL delivers it only if that commits. The payload
// (a kid, or "*") is informational; listeners reload.
inline constexpr Query kNotifyKeyChange{"notify_key_change", "SELECT pg_notify('tokend_keys', $1)"};

// Statements prepared on every pooled connection (libpqxx registers them on first use).
inline constexpr Query kPooledQueries[] = {kPing,
                                           kSchemaVersion,
                                           kInsertFamily,
                                           kInsertRefreshToken,
                                           kFindRefreshToken,
                                           kLockParentForRotation,
                                           kMarkSpent,
                                           kRevokeFamily,
                                           kRevokeSubjectFamilies,
                                           kUpsertRevocation,
                                           kNotifyRevocation,
                                           kListLiveRevocations,
                                           kPruneRevocations,
                                           kPruneRefreshTokens,
                                           kPruneFamilies,
                                           kListSigningKeys,
                                           kInsertSigningKey,
                                           kRetireActiveKey,
                                           kLockActiveKey,
                                           kActivateNextKey,
                                           kRescheduleNextKey,
                                           kRemoveExpiredKeys,
                                           kLockSigningKey,
                                           kLockNextKey,
                                           kRemoveSigningKey,
                                           kRewrapSigningKey,
                                           kCountKeysUnderOtherKek,
                                           kNotifyKeyChange};

// ---- migrations (run on a dedicated connection by MigrateSchema) ---------------------------

// Any fixed 64-bit key shared by every tokend replica and job: "tokend" in ASCII.
inline constexpr char kMigrationLockKey[] = "128021892001380";

inline constexpr Query kMigrationLock{"migration_lock", "SELECT pg_advisory_lock($1::bigint)"};
inline constexpr Query kMigrationUnlock{"migration_unlock",
                                        "SELECT pg_advisory_unlock($1::bigint)"};

inline constexpr Query kCreateMigrationsTable{
    "create_migrations_table",
    "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "
    "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"};

inline constexpr Query kAppliedVersions{"applied_versions",
                                        "SELECT version FROM schema_migrations ORDER BY version"};

inline constexpr Query kRecordMigration{
    "record_migration", "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)"};

}  // namespace tokend::storage::pg
