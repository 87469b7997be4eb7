-- Which audit entry released each signature the vault made: the key is the SHA-256 of the raw
-- signature value (the entry's `signature_sha256` detail), written in the transaction that
-- appends the entry, so a verifier finds the entry from the signature alone.
-- A repeated value (a deterministic scheme signing the same input twice) keeps its first entry.
CREATE TABLE audit_signatures (
    sha256  BYTEA PRIMARY KEY,
    idx     BIGINT NOT NULL
);
