-- Identity: accounts (staff and customers), their credentials, one-time enrolment links and
-- server-side sessions. Personal data (e-mail, name) is encrypted under the account's own data
-- key; `email_index` is a keyed hash (blind index) so an account can be found by e-mail without
-- storing the address in the clear. Tokens are stored only as SHA-256 lookup keys.

CREATE TABLE accounts (
    id                TEXT PRIMARY KEY,
    kind              TEXT NOT NULL CHECK (kind IN ('staff', 'customer')),
    email_index       BLOB NOT NULL UNIQUE,
    email_enc         BLOB NOT NULL,
    display_name_enc  BLOB NOT NULL,
    roles             TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('pending', 'active', 'disabled')),
    created_at_ms     INTEGER NOT NULL,
    updated_at_ms     INTEGER NOT NULL
) STRICT;

CREATE TABLE password_credentials (
    account_id    TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    phc           TEXT NOT NULL,
    updated_at_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE totp_credentials (
    account_id     TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    secret_enc     BLOB NOT NULL,
    last_used_step INTEGER,
    created_at_ms  INTEGER NOT NULL
) STRICT;

CREATE TABLE recovery_codes (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    code_hash  BLOB NOT NULL,
    PRIMARY KEY (account_id, code_hash)
) STRICT;

CREATE TABLE enrolment_tokens (
    lookup_key    BLOB PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    expires_at_ms INTEGER NOT NULL,
    used_at_ms    INTEGER
) STRICT;

CREATE TABLE sessions (
    id             TEXT PRIMARY KEY,
    lookup_key     BLOB NOT NULL UNIQUE,
    account_id     TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    auth_method    TEXT NOT NULL,
    mfa_at_ms      INTEGER,
    device         TEXT NOT NULL,
    risk           INTEGER NOT NULL DEFAULT 0,
    created_at_ms  INTEGER NOT NULL,
    last_seen_ms   INTEGER NOT NULL,
    revoked_at_ms  INTEGER,
    revoked_reason TEXT
) STRICT;
CREATE INDEX sessions_by_account ON sessions (account_id, revoked_at_ms);
