-- 用证: a department (a client with scope licence:use) uses a licence with a stated reason and
-- either an approval case number or a grant the holder issued; every use is a row of
-- licence_uses, next to the inspections, so the holder reads both in one list.

-- A holder's grant (授权): one department, one licence, one purpose, until it expires, is used
-- (a fetch consumes it) or is withdrawn. The code is shown once; only its SHA-256 is kept.
CREATE TABLE licence_grants (
    id               TEXT PRIMARY KEY,     -- grt_ and 32 hex digits
    licence_id       TEXT NOT NULL,        -- licences.id
    code_sha256      TEXT NOT NULL UNIQUE, -- SHA-256 (hex) of the one-time code
    department_id    TEXT NOT NULL,        -- clients.id of the department allowed
    department_name  TEXT NOT NULL,        -- the department's name, as the holder saw it
    purpose          TEXT NOT NULL,        -- why the holder grants it (≤ 200 characters)
    created_by       TEXT NOT NULL,        -- clients.id of the wallet system ('' for an operator)
    created_at       BIGINT NOT NULL,      -- ms since the Unix epoch
    expires_at       BIGINT NOT NULL,      -- ms
    used_at          BIGINT,               -- ms; set by the fetch that consumed it
    withdrawn_at     BIGINT                -- ms; set when the holder withdrew it
);
CREATE INDEX licence_grants_licence ON licence_grants (licence_id, created_at, id);

-- A fetch's short-lived link to the licence file: the token is the credential, kept only as its
-- SHA-256; it serves once, within five minutes.
CREATE TABLE licence_fetch_links (
    token_sha256   TEXT PRIMARY KEY,       -- SHA-256 (hex) of the token in the URL
    licence_id     TEXT NOT NULL,          -- licences.id
    department_id  TEXT NOT NULL,          -- clients.id of the department that fetched
    created_at     BIGINT NOT NULL,        -- ms
    expires_at     BIGINT NOT NULL,        -- ms
    used_at        BIGINT                  -- ms; set when the file was served
);

-- A department's use, in the holder's list of uses (kind query, verify or fetch).
ALTER TABLE licence_uses ADD COLUMN reason TEXT;       -- 用证事由 (≤ 200 characters)
ALTER TABLE licence_uses ADD COLUMN case_number TEXT;  -- the approval case number given
ALTER TABLE licence_uses ADD COLUMN grant_id TEXT;     -- licence_grants.id of the grant used

-- Refused uses, for the operator: no licence id, so that nothing ties a refusal to a licence
-- (a department must not learn whether a licence exists, nor leave traces in a holder's list).
CREATE TABLE licence_use_denials (
    id           TEXT PRIMARY KEY,         -- random
    at           BIGINT NOT NULL,          -- ms
    operation    TEXT NOT NULL,            -- query, verify or fetch
    client_id    TEXT NOT NULL,            -- clients.id of the department
    reason       TEXT NOT NULL,            -- the 用证事由 given
    case_number  TEXT,                     -- the case number given
    cause        TEXT NOT NULL             -- why (for the operator; never told the department)
);
CREATE INDEX licence_use_denials_at ON licence_use_denials (at, id);

-- 用证 queries find a holder's licences of a type whoever issued them.
CREATE INDEX licences_holder_type ON licences (holder_id_number, type_code);
