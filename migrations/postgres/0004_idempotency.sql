-- Idempotency keys of the creating calls (api::idempotency). One row per (client, key): the
-- primary key is what makes two creations under one key impossible, across threads and nodes.
-- A row is inserted as 'pending' before the creation runs and completed with the response after
-- it; a failed creation deletes it. Rows older than 24 h are ignored and deleted.
CREATE TABLE idempotency (
    client_id    TEXT NOT NULL,
    idem_key     TEXT NOT NULL,
    fingerprint  BYTEA NOT NULL,           -- SHA-256 over method, path, query and the body's SHA-256
    state        TEXT NOT NULL CHECK (state IN ('pending', 'done')),
    created_at   BIGINT NOT NULL,
    status       BIGINT,                  -- the stored response, once done
    headers      TEXT,                    -- JSON array of [name, value]
    body         BYTEA,
    PRIMARY KEY (client_id, idem_key)
);
CREATE INDEX idempotency_created ON idempotency (created_at);

-- Lists are paged by (created_at, id) per owner (keyset pagination).
CREATE INDEX keys_owner_created ON keys (owner, created_at, id);
CREATE INDEX seals_owner_created ON seals (owner, created_at, id);
