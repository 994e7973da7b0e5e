-- tokend schema, version 2: signing keys and their lifecycle.
-- Forward-only: once released this file is never edited; changes go into V0003__*.sql and on.

-- One row per signing key, whatever its state. The private key is stored only as an AES-256-GCM
-- envelope sealed by tokend under a key-encryption key (KEK) that never reaches the database:
-- the database alone never reveals a private key. kek_id names the KEK (a hash prefix of it, not
-- the KEK), so a replica with the wrong KEK is refused with a clear message.
CREATE TABLE signing_keys (
  kid                   text PRIMARY KEY CHECK (kid <> ''),
  algorithm             text NOT NULL CHECK (algorithm <> ''),
  state                 text NOT NULL CHECK (state IN ('next', 'active', 'retired', 'removed')),
  encrypted_private_key bytea NOT NULL,
  public_jwk            text NOT NULL,
  kek_id                text NOT NULL,
  origin                text NOT NULL DEFAULT 'generated',
  created_at            timestamptz NOT NULL,
  activates_at          timestamptz NOT NULL,
  retires_at            timestamptz NOT NULL DEFAULT 'infinity',
  remove_after          timestamptz NOT NULL DEFAULT 'infinity',
  removed_at            timestamptz NOT NULL DEFAULT 'infinity',
  removal_reason        text NOT NULL DEFAULT '',
  -- A removed key keeps no ciphertext; every other key has one.
  CHECK ((state = 'removed') = (octet_length(encrypted_private_key) = 0))
);

-- At most one active and at most one next key, whatever replicas do concurrently: a second
-- insert or promotion fails with a unique violation instead of forking the signing key.
CREATE UNIQUE INDEX signing_keys_one_active_one_next ON signing_keys (state)
  WHERE state IN ('active', 'next');
