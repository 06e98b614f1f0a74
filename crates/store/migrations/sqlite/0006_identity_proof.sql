-- Whether a meeting takes an identity proof (the customer's e-ID, or a returning customer's
-- passkey) in its join flow: without a passcode the proof is required, with one it is an
-- alternative to the passcode. 0 or 1.

ALTER TABLE meetings ADD COLUMN identity_proof INTEGER NOT NULL DEFAULT 0
    CHECK (identity_proof IN (0, 1));
