-- Handwritten e-signatures: signers an approval system enrolled (identity it verified, a key and
-- a certificate of the signers' CA), their reference signatures, one-time capture sessions, and
-- the capture evidence each handwritten signature binds. Captures are biometric personal data:
-- stored only wrapped under the master key (AES-256-GCM or SM4-GCM, bound to the row).

CREATE TABLE signers (
    id            TEXT PRIMARY KEY,       -- sgr_ and 32 hex digits
    client_id     TEXT NOT NULL,          -- clients.id of the approval system that enrolled
    name_masked   TEXT NOT NULL,          -- 张*; the full name is only in the certificate
    id_type       TEXT NOT NULL,          -- resident_id, passport, …
    id_hmac       TEXT NOT NULL,          -- keyed hash of the ID number, never the number
    id_masked     TEXT NOT NULL,          -- 1101**********002X
    phone_masked  TEXT NOT NULL,          -- 138****8000
    verified_by   TEXT NOT NULL,          -- face, bank_card, counter
    key_id        TEXT NOT NULL,          -- keys.id of its P-256 key (PDF), purpose handwritten-signer
    cert_id       TEXT NOT NULL,          -- certificates.id of the P-256 key's certificate
    sm2_key_id    TEXT NOT NULL,          -- keys.id of its SM2 key (OFD, and PDF on request)
    sm2_cert_id   TEXT NOT NULL,          -- certificates.id of the SM2 key's certificate
    status        TEXT NOT NULL,          -- active or cancelled
    created_at    BIGINT NOT NULL,
    cancelled_at  BIGINT
);
CREATE INDEX signers_client ON signers (client_id, created_at);
CREATE INDEX signers_id_hmac ON signers (id_hmac);

-- Enrolment signatures the compare endpoint measures a capture against.
CREATE TABLE signer_references (
    signer_id   TEXT NOT NULL,
    seq         BIGINT NOT NULL,          -- 1, 2, …
    capture     BYTEA NOT NULL,           -- wrapped canonical capture JSON
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (signer_id, seq)
);

-- A one-time link an approval system gives its applicant to draw a signature on /sign/{token}.
CREATE TABLE signing_sessions (
    id            TEXT PRIMARY KEY,       -- sss_ and 32 hex digits
    token_sha256  TEXT NOT NULL UNIQUE,   -- SHA-256 of the link's token; the token is not kept
    signer_id     TEXT NOT NULL,
    client_id     TEXT NOT NULL,
    consent       TEXT NOT NULL,          -- the text the signer is shown and agrees to
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    capture       BYTEA,                  -- wrapped capture, once drawn
    captured_at   BIGINT
);

-- What a handwritten signature bound: found by the signature value's hash, as in the audit log.
CREATE TABLE handsign_evidence (
    signature_sha256  TEXT PRIMARY KEY,   -- SHA-256 of the raw signature value
    signer_id         TEXT NOT NULL,
    capture           BYTEA NOT NULL,     -- wrapped canonical capture JSON
    capture_digest    TEXT NOT NULL,      -- hex digest bound in the signed attributes
    consent_digest    TEXT NOT NULL,
    digest_alg        TEXT NOT NULL,      -- sha256 or sm3
    created_at        BIGINT NOT NULL
);
CREATE INDEX handsign_evidence_signer ON handsign_evidence (signer_id, created_at);
