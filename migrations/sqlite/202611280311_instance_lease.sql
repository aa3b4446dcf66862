-- Leases that let only one server hold a role (`local-sessions`: running sessions as processes
-- on its own host). The holder renews its row; another server takes the role over once
-- `expires_at` (Unix ms) has passed, or at once if the holder's process is gone from the same
-- host. A clean shutdown deletes the row.
CREATE TABLE instance_leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    pid_namespace TEXT NOT NULL,
    acquired_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
