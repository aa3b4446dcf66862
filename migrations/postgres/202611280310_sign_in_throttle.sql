-- The sign-in throttle shared by every replica: one row per key (an account, or a client
-- address), named by an HMAC of the key under a key derived from the audit key, so the table
-- holds no username or address. Times in Unix ms. Rows are deleted once forgotten (an hour
-- without attempts and no running lock).
CREATE TABLE sign_in_throttle (
    key_kind TEXT NOT NULL,
    key_mac BYTEA NOT NULL,
    count BIGINT NOT NULL,
    last_attempt BIGINT NOT NULL,
    locked_until BIGINT,
    PRIMARY KEY (key_kind, key_mac)
);
