-- The wallet and device-bound presentation (亮证): a holder's licences found by their holder
-- code, the device keys holders register to a licence, the challenges inspectors show, and
-- whether a check's challenge was answered by the licence's device.

-- The wallet lists a holder's licences across issuers and clients.
CREATE INDEX licences_holder_code ON licences (holder_id_number);

-- A holder's device key (ECDSA P-256, made non-extractable in the phone's browser), registered
-- to one licence; it answers challenges for that licence only.
CREATE TABLE licence_devices (
    key_id      TEXT PRIMARY KEY,         -- dev_ and 32 hex digits
    licence_id  TEXT NOT NULL,            -- licences.id (证照标识)
    public_key  BYTEA NOT NULL,           -- SubjectPublicKeyInfo (DER)
    label       TEXT NOT NULL,            -- what the holder calls the device
    created_at  BIGINT NOT NULL
);
CREATE INDEX licence_devices_licence ON licence_devices (licence_id, created_at);

-- A challenge an inspector shows (8 random digits, 120 s), answered once by a device.
CREATE TABLE presentation_challenges (
    challenge    TEXT PRIMARY KEY,        -- 8 decimal digits
    client_id    TEXT,                    -- clients.id of the inspector's system; NULL anonymous
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,         -- ms since the Unix epoch
    licence_id   TEXT,                    -- the licence whose device answered; NULL until then
    key_id       TEXT,                    -- licence_devices.key_id that signed the answer
    answered_at  BIGINT
);
CREATE INDEX presentation_challenges_expiry ON presentation_challenges (expires_at);

-- A check made with a challenge: answered or not_answered (NULL: no challenge given).
ALTER TABLE licence_uses ADD COLUMN device TEXT;
