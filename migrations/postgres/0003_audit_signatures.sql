-- Which audit entry released each signature the vault made: the key is the SHA-256 of the raw
-- signature value (the entry's `signature_sha256` detail), written in the transaction that
-- appends the entry, so a verifier finds the entry from the signature alone.
-- A repeated value (a deterministic scheme signing the same input twice) keeps its first entry.
CREATE TABLE audit_signatures (
    sha256  BYTEA PRIMARY KEY,
    idx     BIGINT NOT NULL
);

-- A log that already holds entries released signatures before this index: remember when the
-- index began (ms), so those are reported as undecidable rather than as not made by the vault.
INSERT INTO vault_meta (name, value)
SELECT 'audit_signatures_since_ms', CAST(CAST(EXTRACT(EPOCH FROM now()) * 1000 AS BIGINT) AS TEXT)
FROM audit_head WHERE id = 1 AND size > 0;
