-- A tamper-evident audit log: each event carries its place in the chain (`seq`, contiguous from
-- 1) and a MAC over the previous event's MAC and its own fields, under the audit key (a random
-- key in wrapped_keys, purpose `audit`). The chain's head (last seq and MAC) is kept here with a
-- MAC of its own, so deleting the newest events and rolling the head back needs the audit key.
-- Events written before this migration are sealed, in id order, at the next start.
ALTER TABLE audit_events ADD COLUMN seq BIGINT;
ALTER TABLE audit_events ADD COLUMN mac BYTEA;
-- The session an event concerns (started, stopped, failed, a secret used in it), for the
-- viewer's `session:` filter.
ALTER TABLE audit_events ADD COLUMN session_id TEXT;
CREATE UNIQUE INDEX audit_events_seq ON audit_events (seq);
-- The viewer pages newest first by seq within each filter.
CREATE INDEX audit_events_actor_seq ON audit_events (actor_name, seq);
CREATE INDEX audit_events_action_seq ON audit_events (action, seq);
CREATE INDEX audit_events_session_seq ON audit_events (session_id, seq);
CREATE INDEX audit_events_at_seq ON audit_events (at, seq);

CREATE TABLE audit_head (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    seq       BIGINT NOT NULL,
    last_mac  BYTEA NOT NULL,
    head_mac  BYTEA
);
INSERT INTO audit_head (singleton, seq, last_mac, head_mac) VALUES (1, 0, '\x'::bytea, NULL);
