-- Projects (each maps to a namespace), their members, namespace secrets for the embedded
-- default, data keys that belong to no user, and the propagation status of cluster-wide secrets.
CREATE TABLE projects (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL UNIQUE,
    description       TEXT NOT NULL DEFAULT '',
    -- The default project: every user, present and future, may use it, and its namespace is
    -- LOCKBOX_KUBE_NAMESPACE (read from the configuration, so namespace is NULL here).
    is_default        BOOLEAN NOT NULL DEFAULT FALSE,
    -- `<prefix><name>` as it was when the project was created.
    namespace         TEXT UNIQUE,
    -- Whether Lockbox created the namespace (and so may delete it) or adopted an existing one.
    namespace_created BOOLEAN NOT NULL DEFAULT FALSE,
    created_at        BIGINT NOT NULL
);
CREATE UNIQUE INDEX projects_one_default ON projects (is_default) WHERE is_default;
INSERT INTO projects (id, name, description, is_default, created_at)
VALUES (replace(gen_random_uuid()::text, '-', ''), 'default', 'Open to every user.', TRUE, 0);

CREATE TABLE project_members (
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    added_at   BIGINT NOT NULL,
    PRIMARY KEY (project_id, user_id)
);
CREATE INDEX project_members_user ON project_members (user_id);

-- The project a session was launched into, by name (like its environment), so a session
-- outlives its project's deletion in the record. Earlier sessions went to the default project.
ALTER TABLE sessions ADD COLUMN project TEXT NOT NULL DEFAULT 'default';
CREATE INDEX sessions_project ON sessions (project, status);

-- Random data keys that belong to no user (purpose: 'namespace-secrets', …), wrapped by the
-- KEK named in dek_key_id, like users.dek_wrapped.
CREATE TABLE wrapped_keys (
    purpose     TEXT PRIMARY KEY,
    dek_wrapped BYTEA NOT NULL,
    dek_key_id  TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

-- Namespace secrets: on the embedded default, what Kubernetes Secrets are in a project's
-- namespace. project_id NULL is cluster scope: propagated into every project.
CREATE TABLE namespace_secrets (
    id              TEXT PRIMARY KEY,
    project_id      TEXT REFERENCES projects(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    -- JSON array of the key names (not secret: Kubernetes shows them too).
    keys            TEXT NOT NULL,
    -- nonce ‖ ciphertext ‖ tag of the JSON object key → value, sealed with the
    -- 'namespace-secrets' data key and bound to this row.
    data_sealed     BYTEA NOT NULL,
    data_size       BIGINT NOT NULL,
    -- Bumped by every change: what a copy records as its source's version.
    version         BIGINT NOT NULL,
    -- Set only on copies made by propagation: the source's id and the version copied.
    propagated_from TEXT,
    source_version  BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE UNIQUE INDEX namespace_secrets_name ON namespace_secrets (COALESCE(project_id, ''), name);
CREATE INDEX namespace_secrets_source ON namespace_secrets (propagated_from);

-- Where each cluster-wide source stands in each project namespace.
CREATE TABLE propagation_status (
    -- 'kubernetes' or 'local'.
    store          TEXT NOT NULL,
    source_uid     TEXT NOT NULL,
    -- namespace/name of the source.
    source         TEXT NOT NULL,
    namespace      TEXT NOT NULL,
    -- synced, conflict, error or skipped.
    state          TEXT NOT NULL,
    synced_version TEXT,
    synced_at      BIGINT,
    detail         TEXT,
    updated_at     BIGINT NOT NULL,
    PRIMARY KEY (store, source_uid, namespace)
);
