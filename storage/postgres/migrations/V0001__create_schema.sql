-- tokend schema, version 1.
-- Forward-only: once released this file is never edited; changes go into V0002__*.sql and on.
-- Applied by `tokend migrate` (MigrateSchema), in one transaction, under an advisory lock.

-- Which migrations have been applied. MigrateSchema also creates it (identically) before it
-- reads it, so a concurrent first run cannot race on it.
CREATE TABLE IF NOT EXISTS schema_migrations (
  version    integer PRIMARY KEY,
  name       text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
);

-- Times cross the wire as int64 Unix microseconds. The int64 extremes stand for -infinity and
-- infinity, so "forever" (absl::InfinitePast/InfiniteFuture) round-trips exactly.
CREATE FUNCTION tokend_micros_to_ts(us bigint) RETURNS timestamptz
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  AS $$
    SELECT CASE
      WHEN us = 9223372036854775807 THEN 'infinity'::timestamptz
      WHEN us = (-9223372036854775807 - 1) THEN '-infinity'::timestamptz
      ELSE to_timestamp((us / 1000000)::double precision)
           + (us % 1000000)::double precision * interval '1 microsecond'
    END
  $$;

CREATE FUNCTION tokend_ts_to_micros(ts timestamptz) RETURNS bigint
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  AS $$
    SELECT CASE
      WHEN ts = 'infinity'::timestamptz THEN 9223372036854775807::bigint
      WHEN ts = '-infinity'::timestamptz THEN (-9223372036854775807 - 1)::bigint
      ELSE (extract(epoch FROM ts) * 1000000)::bigint
    END
  $$;

-- One row per refresh family: the unit that reuse detection and revocation act on. Rotations
-- lock the family row with the parent token, so a revocation and a rotation of one family
-- serialize (a child can never be born into a family revoked concurrently).
CREATE TABLE refresh_families (
  family_id     text PRIMARY KEY,
  subject       text NOT NULL,
  client_id     text NOT NULL,
  created_at    timestamptz NOT NULL,
  expires_at    timestamptz NOT NULL,
  revoked_at    timestamptz,
  revoke_reason text
);
CREATE INDEX refresh_families_subject_idx ON refresh_families (subject);
CREATE INDEX refresh_families_expires_at_idx ON refresh_families (expires_at);

-- Refresh tokens, by SHA-256 hash only: the token itself is never stored.
CREATE TABLE refresh_tokens (
  token_hash        bytea PRIMARY KEY CHECK (octet_length(token_hash) > 0),
  family_id         text NOT NULL REFERENCES refresh_families (family_id),
  parent_hash       bytea,
  subject           text NOT NULL,
  client_id         text NOT NULL,
  audiences         text[] NOT NULL DEFAULT '{}',
  scopes            text[] NOT NULL DEFAULT '{}',
  custom_claims     text NOT NULL DEFAULT '',  -- JSON text kept byte for byte
  issued_at         timestamptz NOT NULL,
  expires_at        timestamptz NOT NULL,
  family_expires_at timestamptz NOT NULL,
  spent_at          timestamptz,
  child_hash        bytea,
  CHECK ((spent_at IS NULL) = (child_hash IS NULL))
);
CREATE INDEX refresh_tokens_family_id_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_family_expires_at_idx ON refresh_tokens (family_expires_at);

-- The denylist. One row per (kind, key); re-adding keeps the later not_before / expires_at.
CREATE TABLE revocations (
  kind       text NOT NULL CHECK (kind IN ('token_id', 'family', 'subject')),
  key        text NOT NULL CHECK (key <> ''),
  not_before timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz NOT NULL,
  reason     text NOT NULL DEFAULT '',
  PRIMARY KEY (kind, key)
);
CREATE INDEX revocations_expires_at_idx ON revocations (expires_at);
