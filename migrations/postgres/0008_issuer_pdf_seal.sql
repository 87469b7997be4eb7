-- An issuer's P-256 licence seal for licence PDFs (PDF readers validate P-256, not SM2): made
-- with new issuers, and on first need for issuers registered before this migration (NULL).
ALTER TABLE issuers ADD COLUMN pdf_seal_id TEXT;
