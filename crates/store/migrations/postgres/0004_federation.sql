-- Federated sign-in with OpenID Connect. A staff account is linked to an identity provider's
-- (issuer, subject) pair through a keyed hash (blind index) of the pair, so the table reveals
-- neither. A customer identified by an e-ID keeps the verified name and personal identity number
-- encrypted under the customer's own data key, with a blind index of the number to recognise a
-- returning customer. A session may be limited to a subset of its account's roles (the roles the
-- identity provider also asserted at sign-in).

CREATE TABLE federated_identities (
    lookup_key      BYTEA PRIMARY KEY,
    account_id      TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    provider        TEXT NOT NULL CHECK (provider IN ('staff', 'customer')),
    created_at_ms   BIGINT NOT NULL,
    last_used_at_ms BIGINT NOT NULL
);
-- One subject per account and provider: a second identity at the provider with the same
-- address cannot be linked beside the first, even by two simultaneous first sign-ins.
CREATE UNIQUE INDEX federated_identities_by_account ON federated_identities (account_id, provider);

CREATE TABLE verified_identities (
    account_id            TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    personal_number_index BYTEA NOT NULL UNIQUE,
    name_enc              BYTEA NOT NULL,
    personal_number_enc   BYTEA NOT NULL,
    verified_at_ms        BIGINT NOT NULL
);

ALTER TABLE sessions ADD COLUMN roles_limit TEXT;
