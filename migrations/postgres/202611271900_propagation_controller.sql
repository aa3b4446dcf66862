-- The propagation controller's heartbeat, one row per store, written by the replica that
-- propagates after every pass and every few seconds while it leads. A reader judges a stall
-- from it (an old heartbeat is a stall too: a hung controller cannot report itself).
CREATE TABLE propagation_controller (
    -- 'kubernetes' or 'local'.
    store         TEXT PRIMARY KEY,
    -- The replica that leads (host name and a random suffix).
    holder        TEXT NOT NULL,
    last_pass_at  BIGINT,
    -- The holder's own judgement: no pass completed, or a watch failing, for a while.
    stalled       BOOLEAN NOT NULL,
    detail        TEXT,
    passes        BIGINT NOT NULL,
    writes        BIGINT NOT NULL,
    failed_writes BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
