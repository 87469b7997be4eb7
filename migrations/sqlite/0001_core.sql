-- Core tables of the vault: registered approval systems (clients), keys, and the audit log.
-- Times are integer milliseconds since the Unix epoch (sqlx's Any driver maps only plain types).
-- Never edit this file once released: add a new numbered migration instead.

CREATE TABLE vault_meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE clients (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    key_hmac    BLOB NOT NULL UNIQUE,   -- HMAC-SHA256(server secret, API key); the key itself is never stored
    scopes      TEXT NOT NULL,          -- space-separated; empty = the default set
    status      TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);

CREATE TABLE keys (
    id              TEXT PRIMARY KEY,
    owner           TEXT NOT NULL,      -- client id, or 'vault' for the vault's own keys
    purpose         TEXT NOT NULL,      -- 'client' | 'audit'
    key_type        TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    public_key      BLOB NOT NULL,      -- SubjectPublicKeyInfo DER
    wrapped_private BLOB NOT NULL,      -- PKCS#8 under the master key, id and owner in the AAD
    created_at      BIGINT NOT NULL,
    disabled_at     BIGINT
);
CREATE INDEX keys_owner ON keys (owner);

-- The single row that serialises every audited transaction: writers lock it first.
CREATE TABLE audit_head (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    size      BIGINT NOT NULL,
    frontier  BLOB NOT NULL            -- roots of the perfect subtrees, largest first, 32 bytes each
);
INSERT INTO audit_head (id, size, frontier) VALUES (1, 0, X'');

CREATE TABLE audit_entries (
    idx        BIGINT PRIMARY KEY,
    at_ms      BIGINT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    record     BLOB NOT NULL,          -- the canonical JSON record that is hashed, byte for byte
    leaf_hash  BLOB NOT NULL
);

-- Roots of perfect subtrees of height >= 1 (height 0 = the leaf hashes above), for inclusion proofs.
CREATE TABLE audit_nodes (
    height  INTEGER NOT NULL,
    idx     BIGINT NOT NULL,
    hash    BLOB NOT NULL,
    PRIMARY KEY (height, idx)
);

CREATE TABLE audit_checkpoints (
    size       BIGINT PRIMARY KEY,
    at_ms      BIGINT NOT NULL,
    note       TEXT NOT NULL,          -- the signed text
    key_id     TEXT NOT NULL,
    signature  BLOB NOT NULL
);
