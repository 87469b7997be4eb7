-- Client credentials can be rotated, and a revoked client's name can be given to a new client.
-- Never edit this file once released: add a new numbered migration instead.

-- An API key replaced by a rotation stays valid until expires_at (ms), then is refused.
CREATE TABLE client_retired_keys (
    key_hmac    BLOB PRIMARY KEY,      -- HMAC-SHA256(server secret, old API key)
    client_id   TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX client_retired_keys_client ON client_retired_keys (client_id);

-- Names are unique among active clients only: the audit log names clients by id, so a new client
-- may take the name of a revoked one. SQLite cannot drop an inline UNIQUE constraint, so the
-- table is rebuilt (no foreign key refers to it).
CREATE TABLE clients_new (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    key_hmac    BLOB NOT NULL UNIQUE,   -- HMAC-SHA256(server secret, API key); the key itself is never stored
    scopes      TEXT NOT NULL,          -- space-separated; empty = the default set
    status      TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
INSERT INTO clients_new (id, name, key_hmac, scopes, status, created_at, revoked_at)
    SELECT id, name, key_hmac, scopes, status, created_at, revoked_at FROM clients;
DROP TABLE clients;
ALTER TABLE clients_new RENAME TO clients;
CREATE UNIQUE INDEX clients_active_name ON clients (name) WHERE status = 'active';
