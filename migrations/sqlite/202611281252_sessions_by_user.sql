-- The admin's sessions list sorted by user orders by (users.username_key, sessions.id), through
-- the join. With this index the order comes from indexes alone: users in username_key order
-- (its unique index, entered at a page's cursor), then each user's sessions in id order from
-- here, instead of sorting every session of every user for each page.
CREATE INDEX sessions_user_id ON sessions (user_id, id);
