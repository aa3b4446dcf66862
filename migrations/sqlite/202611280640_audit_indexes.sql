-- The audit viewer's filters with a million events (issue 9's benchmark, bench/RESULTS.md).
-- `actor:X action:Y` (with or without `since:`): one index gives exactly X's events of action Y
-- in seq order. Without it the planner walks every event of X, or of Y, filtering row by row;
-- SQLite (no statistics kept) picks Y: 30 000 `login.failed` rows for 18 matches, 47 ms a page.
CREATE INDEX audit_events_actor_action_seq ON audit_events (actor_name, action, seq);
-- `target:` had no index at all: a target with few events meant reading the whole log.
CREATE INDEX audit_events_target_seq ON audit_events (target, seq);
-- (at) alone is covered by (at, seq): one index less to write per event.
DROP INDEX audit_events_at;
