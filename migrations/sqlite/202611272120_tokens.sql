-- Personal access tokens: what a command-line client or script signs in with. Only the
-- SHA-256 of a token is kept (a token is 256 random bits, so a fast hash is enough); the token
-- itself is shown once, when it is created.
CREATE TABLE tokens (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    -- Space-separated scope names (`secrets:read secrets:write sessions`).
    scopes       TEXT NOT NULL,
    -- Lowercase hex SHA-256 of the whole token: how a request's token is found.
    token_hash   TEXT NOT NULL UNIQUE,
    -- The token's first characters (its fixed prefix and 4 random ones), so the owner can
    -- tell tokens apart in the list; too short to be of any use to anyone else.
    display      TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    -- Written at most once a minute.
    last_used_at BIGINT,
    revoked_at   BIGINT
);
-- A name is unique among the user's tokens that are not revoked.
CREATE UNIQUE INDEX tokens_user_name ON tokens (user_id, name) WHERE revoked_at IS NULL;
CREATE INDEX tokens_user ON tokens (user_id, created_at);
