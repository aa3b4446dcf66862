-- Accounts, encrypted secrets, the keyring's key checks and the audit trail.
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL,
    username_key  TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    is_admin      BOOLEAN NOT NULL DEFAULT FALSE,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    -- The user's data key, wrapped by the KEK named in dek_key_id.
    dek_wrapped   BYTEA NOT NULL,
    dek_key_id    TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);

CREATE TABLE secrets (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    name_key     TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    -- nonce ‖ ciphertext ‖ tag, sealed with the owner's data key.
    value_sealed BYTEA NOT NULL,
    value_size   BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    UNIQUE (user_id, name_key)
);

CREATE TABLE keyring (
    key_id     TEXT PRIMARY KEY,
    check_blob BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE audit_events (
    id          BIGSERIAL PRIMARY KEY,
    at          BIGINT NOT NULL,
    actor_id    TEXT,
    actor_name  TEXT,
    action      TEXT NOT NULL,
    target      TEXT,
    detail      TEXT,
    client_addr TEXT
);
CREATE INDEX audit_events_at ON audit_events (at);
