-- Licence files (GB/T 36905): each licence's file, rendered and sealed on its first request and
-- kept, so every later request answers the same bytes. One row per licence and format.
CREATE TABLE licence_files (
    licence_id  TEXT NOT NULL,            -- licences.id (证照标识)
    format      TEXT NOT NULL CHECK (format IN ('ofd', 'pdf-p256', 'pdf-sm2')),
    content     BLOB NOT NULL,            -- the sealed file
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (licence_id, format)
);
