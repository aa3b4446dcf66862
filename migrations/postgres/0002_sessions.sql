-- Environments (what sessions run), sessions, and the secret names each session received.
CREATE TABLE environments (
    name          TEXT PRIMARY KEY,
    description   TEXT NOT NULL DEFAULT '',
    image         TEXT NOT NULL,
    -- JSON arrays of strings.
    command       TEXT NOT NULL,
    args          TEXT NOT NULL,
    port          INTEGER,
    -- JSON object of Kubernetes quantities.
    resources     TEXT NOT NULL,
    local_command TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);

CREATE TABLE sessions (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    environment   TEXT NOT NULL,
    backend       TEXT NOT NULL,
    namespace     TEXT NOT NULL,
    status        TEXT NOT NULL,
    status_detail TEXT,
    mount_dir     TEXT NOT NULL,
    url           TEXT,
    started_at    BIGINT NOT NULL,
    stopped_at    BIGINT
);
CREATE INDEX sessions_user ON sessions (user_id, started_at);
CREATE INDEX sessions_status ON sessions (status);

-- Names and modes only: values are never stored with a session.
CREATE TABLE session_secrets (
    session_id  TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    secret_name TEXT NOT NULL,
    mode        TEXT NOT NULL,
    target      TEXT NOT NULL,
    PRIMARY KEY (session_id, position)
);
