-- Meetings, their invitations and the consent register.
--
-- A meeting's id is 128 random bits (32 hex characters) and is the only id in its link. Its title
-- is encrypted with the meeting's own data key (`meeting:<id>`), so shredding that key erases
-- what the meeting was about; the passcode is kept only as an Argon2id PHC string. The validity
-- window is the time the link lets anyone in.
--
-- The consent register keeps, for every purpose on the privacy notice a person was shown, their
-- choice, the notice version and the time, against a pseudonymous subject (`guest:<random>` for
-- someone who joined by link, `account:<id>` for an account); later privacy work extends it.

CREATE TABLE meetings (
    id              TEXT PRIMARY KEY CHECK (length(id) = 32),
    host_account_id TEXT NOT NULL REFERENCES accounts (id),
    title_enc       BYTEA NOT NULL,
    passcode_phc    TEXT,
    starts_at_ms    BIGINT NOT NULL,
    ends_at_ms      BIGINT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('scheduled', 'cancelled', 'ended')),
    created_at_ms   BIGINT NOT NULL,
    updated_at_ms   BIGINT NOT NULL,
    CHECK (ends_at_ms > starts_at_ms)
);
CREATE INDEX meetings_by_host ON meetings (host_account_id, starts_at_ms);

CREATE TABLE meeting_invitations (
    id          TEXT PRIMARY KEY,
    meeting_id  TEXT NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    email_enc   BYTEA NOT NULL,
    sent_at_ms  BIGINT NOT NULL
);
CREATE INDEX invitations_by_meeting ON meeting_invitations (meeting_id);

CREATE TABLE consents (
    id             TEXT PRIMARY KEY,
    subject        TEXT NOT NULL,
    meeting_id     TEXT REFERENCES meetings (id) ON DELETE SET NULL,
    purpose        TEXT NOT NULL,
    notice_version TEXT NOT NULL,
    choice         TEXT NOT NULL CHECK (choice IN ('given', 'refused')),
    at_ms          BIGINT NOT NULL
);
CREATE INDEX consents_by_subject ON consents (subject, at_ms);
