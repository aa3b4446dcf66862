-- The sign-in throttle shared by every replica: one row per key (an account, or a client
-- address), named by an HMAC of the key under a key derived from the audit key, so the table
-- holds no username or address. Times in Unix ms. Rows are deleted once forgotten (an hour
-- without attempts and no running lock).
CREATE TABLE sign_in_throttle (
    key_kind TEXT NOT NULL,
    key_mac BLOB NOT NULL,
    count INTEGER NOT NULL,
    last_attempt INTEGER NOT NULL,
    locked_until INTEGER,
    PRIMARY KEY (key_kind, key_mac)
);
