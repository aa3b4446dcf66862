-- Online master-key rotation. Every wrapped key row already names the KEK that wrapped it
-- (users.dek_key_id, wrapped_keys.dek_key_id, filled since the first migration with the id of
-- the key check's KEK), so nothing is backfilled here.

-- The rewrap task finds rows wrapped by a non-active key without a full scan.
CREATE INDEX users_dek_key_id ON users (dek_key_id);
CREATE INDEX wrapped_keys_dek_key_id ON wrapped_keys (dek_key_id);

-- One row per rotation towards a key: whoever inserts it records "key.rotation.started", whoever
-- sets completed_at records "key.rotation.completed", so several replicas audit each once.
CREATE TABLE key_rotations (
    target_key_id TEXT PRIMARY KEY,
    started_at    BIGINT NOT NULL,
    completed_at  BIGINT
);
