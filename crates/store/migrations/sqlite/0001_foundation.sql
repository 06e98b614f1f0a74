-- Foundation: organisations, settings, the key vault's wrapped data keys and the audit trail.

CREATE TABLE organisations (
    id            TEXT PRIMARY KEY,
    -- The display name, encrypted under the organisation's data key (AAD: organisations/name/id).
    name_enc      BLOB NOT NULL,
    created_at_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE settings (
    key           TEXT PRIMARY KEY,
    value         TEXT NOT NULL,
    updated_at_ms INTEGER NOT NULL
) STRICT;

-- One row per data key: a data subject's, or an organisation-wide category's. Deleting the row
-- is crypto-shredding: every value encrypted under that key becomes unreadable.
CREATE TABLE data_keys (
    key_ref       TEXT PRIMARY KEY,
    kek_id        TEXT NOT NULL,
    wrapped       BLOB NOT NULL,
    created_at_ms INTEGER NOT NULL,
    rewrapped_at_ms INTEGER
) STRICT;
CREATE INDEX data_keys_by_kek ON data_keys (kek_id);

CREATE TABLE audit_log (
    seq       INTEGER PRIMARY KEY,
    at_ms     INTEGER NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    target    TEXT,
    outcome   TEXT NOT NULL,
    details   TEXT NOT NULL,
    prev_hash BLOB NOT NULL,
    hash      BLOB NOT NULL
) STRICT;
CREATE INDEX audit_log_by_action ON audit_log (action, at_ms);

-- The chain's head, kept apart from the entries so a deleted tail is noticed; updating this one
-- row first in every append transaction serialises writers.
CREATE TABLE audit_head (
    id                  INTEGER PRIMARY KEY CHECK (id = 1),
    seq                 INTEGER NOT NULL,
    hash                BLOB NOT NULL,
    last_checkpoint_seq INTEGER NOT NULL
) STRICT;
INSERT INTO audit_head (id, seq, hash, last_checkpoint_seq) VALUES (1, 0, zeroblob(32), 0);

CREATE TABLE audit_checkpoints (
    seq          INTEGER PRIMARY KEY,
    hash         BLOB NOT NULL,
    signed_at_ms INTEGER NOT NULL,
    signature    BLOB NOT NULL
) STRICT;

-- Append-only: the application never updates or deletes audit rows, and the database refuses to.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
