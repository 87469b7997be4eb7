-- 亮证: each issuer's presentation key, the opaque handle presentation tokens carry for a
-- licence, and every check of a token (what a holder's list of uses shows).

-- keys.id (purpose presentation) of the key its presentation tokens are signed with; made with
-- new issuers, and on first need for issuers registered before this migration (NULL).
ALTER TABLE issuers ADD COLUMN presentation_key_id TEXT;

-- A licence's handle: 128 random bits, made on its first presentation, so a token names
-- neither the 证照标识 nor the licence number.
CREATE TABLE licence_handles (
    handle      TEXT PRIMARY KEY,         -- 32 lowercase hex digits
    licence_id  TEXT NOT NULL UNIQUE,     -- licences.id (证照标识)
    created_at  BIGINT NOT NULL
);

-- Every check of a genuine token: who (a client, with the inspector it named, or anonymous),
-- when, which licence, and the verdict.
CREATE TABLE licence_uses (
    id          TEXT PRIMARY KEY,         -- random
    licence_id  TEXT NOT NULL,            -- licences.id
    at          BIGINT NOT NULL,          -- ms since the Unix epoch
    kind        TEXT NOT NULL,            -- inspection (亮证 checked)
    client_id   TEXT,                     -- clients.id; NULL for an anonymous check
    inspector   TEXT,                     -- the inspector's id as the client gave it
    verdict     TEXT NOT NULL,            -- VALID, EXPIRED, REVOKED, SUSPENDED, WRONG_TYPE
    view        TEXT NOT NULL CHECK (view IN ('minimal', 'full'))
);
CREATE INDEX licence_uses_licence ON licence_uses (licence_id, at, id);
