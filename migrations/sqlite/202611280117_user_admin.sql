-- Users managed from the admin view.
-- must_change_password: the account was created with a one-time password, which its owner must
-- replace before anything else (every page and API except changing it and signing out refuses).
-- login_epoch: a login session remembers the epoch it was signed in under; changing the password
-- or disabling the account bumps it, which ends every other login session of the account at its
-- next request (the current one, after a password change, is moved to the new epoch).
ALTER TABLE users ADD COLUMN must_change_password BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN login_epoch BIGINT NOT NULL DEFAULT 0;
-- The admin list pages through users by username_key (already unique, so already indexed).
