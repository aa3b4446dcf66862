-- This installation's id, made once here: it labels every Kubernetes object Lockbox creates, so
-- the sweep of leftover session objects only ever touches this installation's own.
CREATE TABLE installation (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    id        TEXT NOT NULL
);
INSERT INTO installation (singleton, id) VALUES (1, lower(hex(randomblob(16))));
