-- The admin's list of every user's sessions pages newest first by (started_at, id).
CREATE INDEX sessions_started ON sessions (started_at, id);
