-- Passkeys (WebAuthn credentials). The credential as webauthn-rs needs it (public key, counter,
-- flags) is kept encrypted with the holder's data key, so erasing the holder shreds it too; only
-- the credential id, which the authenticator hands back at sign-in, is stored in the clear to
-- find it. The user handle given to authenticators is the random account id, which says nothing
-- about the person.

CREATE TABLE passkeys (
    id            TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    credential_id BYTEA NOT NULL UNIQUE,
    passkey_enc   BYTEA NOT NULL,
    name_enc      BYTEA NOT NULL,
    created_at_ms BIGINT NOT NULL,
    last_used_ms  BIGINT
);
CREATE INDEX passkeys_by_account ON passkeys (account_id);
