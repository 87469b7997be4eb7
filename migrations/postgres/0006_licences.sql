-- Electronic licences (GB/T 36901–36906): issuing authorities, their status lists, licences.
-- Times are integer milliseconds since the Unix epoch; dates are the UTC midnight they start.

-- 颁证单位: each with its licence seal, SM2 licence signing key and P-256 status list key.
CREATE TABLE issuers (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    uscc            TEXT NOT NULL UNIQUE,  -- 统一社会信用代码 (GB 32100, checked)
    region          TEXT NOT NULL,         -- GB/T 2260 region code, six digits
    seal_id         TEXT NOT NULL,         -- seals.id of its 电子证照专用章
    signing_key_id  TEXT NOT NULL,         -- keys.id (purpose licence-signer, SM2)
    status_key_id   TEXT NOT NULL,         -- keys.id (purpose status-list, P-256)
    created_at      BIGINT NOT NULL
);

-- Which issuers a client (approval system) may issue for.
CREATE TABLE client_issuers (
    client_id  TEXT NOT NULL,
    issuer_id  TEXT NOT NULL,
    PRIMARY KEY (client_id, issuer_id)
);

-- Status lists (IETF Token Status List, 2 bits a slot); an issuer's newest list takes new
-- licences until half its slots are used.
CREATE TABLE status_lists (
    id          TEXT PRIMARY KEY,
    issuer_id   TEXT NOT NULL,
    slots       BIGINT NOT NULL,
    used        BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL          -- changes (strictly grows) with every slot change
);
CREATE INDEX status_lists_issuer ON status_lists (issuer_id, created_at);

CREATE TABLE licences (
    id                TEXT PRIMARY KEY,  -- 证照标识 (GB/T 36904)
    issuer_id         TEXT NOT NULL,
    owner             TEXT NOT NULL,     -- client id of the approval system that issued it
    type_code         TEXT NOT NULL,     -- 证照类型代码
    number            TEXT NOT NULL,     -- 证照编号
    holder_name       TEXT NOT NULL,     -- 持证主体
    holder_id_type    TEXT NOT NULL,     -- 持证主体代码类型: 111, 001, 414
    holder_id_number  TEXT NOT NULL,     -- 持证主体代码 (personal data: masked in lists, never logged)
    issued_on         BIGINT NOT NULL,   -- 颁发日期
    valid_from        BIGINT NOT NULL,   -- 有效期起始
    valid_to          BIGINT,            -- 有效期截止, end of that day; NULL = 长期
    fields            TEXT NOT NULL,     -- 照面信息, JSON
    signature         BYTEA NOT NULL,    -- SM2 signature (DER) of the canonical form
    status            TEXT NOT NULL CHECK (status IN ('valid', 'suspended', 'revoked', 'cancelled', 'superseded')),
    status_reason     TEXT,
    superseded_by     TEXT,
    list_id           TEXT NOT NULL,
    list_index        BIGINT NOT NULL,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    UNIQUE (list_id, list_index)
);
-- One live licence per number: a change (变更) issues the next version under the same number
-- and supersedes the old one.
CREATE UNIQUE INDEX licences_number ON licences (issuer_id, type_code, number)
    WHERE status <> 'superseded';
CREATE INDEX licences_owner ON licences (owner, created_at, id);
CREATE INDEX licences_holder ON licences (owner, holder_id_number);
CREATE INDEX licences_list_status ON licences (list_id, status);
CREATE INDEX licences_list_expiry ON licences (list_id, valid_to);
