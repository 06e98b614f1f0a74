-- Foundation: organisations, settings, the key vault's wrapped data keys and the audit trail.

CREATE TABLE organisations (
    id            TEXT PRIMARY KEY,
    -- The display name, encrypted under the organisation's data key (AAD: organisations/name/id).
    name_enc      BYTEA NOT NULL,
    created_at_ms BIGINT NOT NULL
);

CREATE TABLE settings (
    key           TEXT PRIMARY KEY,
    value         TEXT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

-- One row per data key: a data subject's, or an organisation-wide category's. Deleting the row
-- is crypto-shredding: every value encrypted under that key becomes unreadable.
CREATE TABLE data_keys (
    key_ref       TEXT PRIMARY KEY,
    kek_id        TEXT NOT NULL,
    wrapped       BYTEA NOT NULL,
    created_at_ms BIGINT NOT NULL,
    rewrapped_at_ms BIGINT
);
CREATE INDEX data_keys_by_kek ON data_keys (kek_id);

CREATE TABLE audit_log (
    seq       BIGINT PRIMARY KEY,
    at_ms     BIGINT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    target    TEXT,
    outcome   TEXT NOT NULL,
    details   TEXT NOT NULL,
    prev_hash BYTEA NOT NULL,
    hash      BYTEA NOT NULL
);
CREATE INDEX audit_log_by_action ON audit_log (action, at_ms);

-- The chain's head, kept apart from the entries so a deleted tail is noticed; updating this one
-- row first in every append transaction serialises writers.
CREATE TABLE audit_head (
    id                  INTEGER PRIMARY KEY CHECK (id = 1),
    seq                 BIGINT NOT NULL,
    hash                BYTEA NOT NULL,
    last_checkpoint_seq BIGINT NOT NULL
);
INSERT INTO audit_head (id, seq, hash, last_checkpoint_seq)
VALUES (1, 0, decode(repeat('00', 32), 'hex'), 0);

CREATE TABLE audit_checkpoints (
    seq          BIGINT PRIMARY KEY,
    hash         BYTEA NOT NULL,
    signed_at_ms BIGINT NOT NULL,
    signature    BYTEA NOT NULL
);

-- Append-only: the application never updates or deletes audit rows, and the database refuses to.
CREATE FUNCTION trygg_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION trygg_append_only();
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION trygg_append_only();
