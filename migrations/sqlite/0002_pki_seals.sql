-- The vault's certificate authority and its electronic seals (GB/T 38540).
-- Times are integer milliseconds since the Unix epoch.

-- Every certificate the vault issued (its own CA hierarchy included).
CREATE TABLE certificates (
    id                 TEXT PRIMARY KEY,
    issuer             TEXT,               -- authorities.name of the issuer; NULL for self-signed roots
    serial             TEXT NOT NULL,      -- hex
    kind               TEXT NOT NULL,      -- root | issuing-ca | seal-maker | seal-holder | tsa
    key_id             TEXT NOT NULL,      -- keys.id of the certified key
    subject            TEXT NOT NULL,      -- RFC 4514
    fingerprint        TEXT NOT NULL UNIQUE, -- SHA-256 of the DER, hex
    der                BLOB NOT NULL,
    not_before         BIGINT NOT NULL,
    not_after          BIGINT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('good', 'revoked')),
    revoked_at         BIGINT,
    revocation_reason  TEXT,
    created_at         BIGINT NOT NULL,
    UNIQUE (issuer, serial)
);
CREATE INDEX certificates_issuer_status ON certificates (issuer, status);

-- The vault's own authorities: roots, issuing CAs and seal makers, one set per algorithm family.
CREATE TABLE authorities (
    name     TEXT PRIMARY KEY,             -- e.g. sm2-root, sm2-issuing, sm2-maker
    family   TEXT NOT NULL,                -- sm2 | p256
    role     TEXT NOT NULL,                -- root | issuing | maker
    cert_id  TEXT NOT NULL,
    key_id   TEXT NOT NULL
);

CREATE TABLE seals (
    id             TEXT PRIMARY KEY,
    es_id          TEXT NOT NULL UNIQUE,   -- SES_SealInfo.esID
    owner          TEXT NOT NULL,          -- client id the seal was granted to
    name           TEXT NOT NULL,
    seal_type      BIGINT NOT NULL,
    holder_name    TEXT NOT NULL,
    holder_uscc    TEXT NOT NULL,
    alg            TEXT NOT NULL,          -- key type of the holder key
    key_id         TEXT NOT NULL,
    cert_id        TEXT NOT NULL,
    valid_from     BIGINT NOT NULL,
    valid_to       BIGINT NOT NULL,
    image          BLOB NOT NULL,          -- PNG
    seal_der       BLOB NOT NULL,          -- the SESeal as issued
    status         TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
    created_at     BIGINT NOT NULL,
    revoked_at     BIGINT,
    revoke_reason  TEXT
);
CREATE INDEX seals_owner ON seals (owner);
