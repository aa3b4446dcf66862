-- Usernames are ordered by their bytes, as on SQLite (whose BINARY collation compares bytes):
-- with the database's own collation (en_US, say) PostgreSQL ordered `b_ob` before `b-oc` and
-- `b.oa`, so the admin lists (and their cursors, compared in the same collation) showed another
-- order than on SQLite. The column's collation is what ORDER BY, the cursor's comparison and
-- the unique index use, so they stay in step; this rebuilds the indexes on the column
-- (username_key's unique one, users_created_at, users_last_sign_in) in byte order too.
ALTER TABLE users ALTER COLUMN username_key TYPE TEXT COLLATE "C";
-- The admin's sessions list sorted by user orders by (users.username_key, sessions.id), through
-- the join: users in username_key order from its unique index (entered at a page's cursor),
-- then each user's sessions from here, rather than sorting every session for each page.
CREATE INDEX sessions_user_id ON sessions (user_id, id);
