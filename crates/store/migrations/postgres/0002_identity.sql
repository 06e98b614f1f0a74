-- Identity: accounts (staff and customers), their credentials, one-time enrolment links and
-- server-side sessions. Personal data (e-mail, name) is encrypted under the account's own data
-- key; `email_index` is a keyed hash (blind index) so an account can be found by e-mail without
-- storing the address in the clear. Tokens are stored only as SHA-256 lookup keys.

CREATE TABLE accounts (
    id                TEXT PRIMARY KEY,
    kind              TEXT NOT NULL CHECK (kind IN ('staff', 'customer')),
    email_index       BYTEA NOT NULL UNIQUE,
    email_enc         BYTEA NOT NULL,
    display_name_enc  BYTEA NOT NULL,
    roles             TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('pending', 'active', 'disabled')),
    created_at_ms     BIGINT NOT NULL,
    updated_at_ms     BIGINT NOT NULL
);

CREATE TABLE password_credentials (
    account_id    TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    phc           TEXT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

CREATE TABLE totp_credentials (
    account_id     TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    secret_enc     BYTEA NOT NULL,
    last_used_step BIGINT,
    created_at_ms  BIGINT NOT NULL
);

CREATE TABLE recovery_codes (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    code_hash  BYTEA NOT NULL,
    PRIMARY KEY (account_id, code_hash)
);

CREATE TABLE enrolment_tokens (
    lookup_key    BYTEA PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    expires_at_ms BIGINT NOT NULL,
    used_at_ms    BIGINT
);

CREATE TABLE sessions (
    id             TEXT PRIMARY KEY,
    lookup_key     BYTEA NOT NULL UNIQUE,
    account_id     TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    auth_method    TEXT NOT NULL,
    mfa_at_ms      BIGINT,
    device         TEXT NOT NULL,
    risk           BIGINT NOT NULL DEFAULT 0,
    created_at_ms  BIGINT NOT NULL,
    last_seen_ms   BIGINT NOT NULL,
    revoked_at_ms  BIGINT,
    revoked_reason TEXT
);
CREATE INDEX sessions_by_account ON sessions (account_id, revoked_at_ms);
