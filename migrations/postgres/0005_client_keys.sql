-- Client credentials can be rotated, and a revoked client's name can be given to a new client.
-- Never edit this file once released: add a new numbered migration instead.

-- An API key replaced by a rotation stays valid until expires_at (ms), then is refused.
CREATE TABLE client_retired_keys (
    key_hmac    BYTEA PRIMARY KEY,     -- HMAC-SHA256(server secret, old API key)
    client_id   TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX client_retired_keys_client ON client_retired_keys (client_id);

-- Names are unique among active clients only: the audit log names clients by id, so a new client
-- may take the name of a revoked one.
ALTER TABLE clients DROP CONSTRAINT clients_name_key;
CREATE UNIQUE INDEX clients_active_name ON clients (name) WHERE status = 'active';
