-- The admin lists sort by a column, paging by (sort key, unique tiebreaker) (keyset paging).
-- last_sign_in_at: when the account last signed in with its password (Unix ms; 0 = never),
-- written in the transaction of the `login.succeeded` event. Not NULL, so "never" sorts as the
-- oldest on both databases (their NULLs sort differently).
ALTER TABLE users ADD COLUMN last_sign_in_at BIGINT NOT NULL DEFAULT 0;
-- Users by creation time and by last sign-in: these indexes yield those orders (either
-- direction) and start a page at its cursor, so a page reads its rows rather than the whole
-- table. By name, the unique index of username_key already does.
CREATE INDEX users_created_at ON users (created_at, username_key);
CREATE INDEX users_last_sign_in ON users (last_sign_in_at, username_key);
-- Sessions by status (then id): the same for the admin's sessions list. By start time,
-- sessions_started (started_at, id) already does; by user the order comes from the join.
CREATE INDEX sessions_status_id ON sessions (status, id);
