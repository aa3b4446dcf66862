-- page_version: bumped in the transaction of every change to what a user's own pages show (their
-- secrets, their name, their admin link), so a rendered page cached by any replica can be checked
-- against the database at the next view (see `web::page_cache`). Triggers keep the rule in one
-- place: no write path can forget it. Statement-level, so a launch that marks 100 secrets used
-- bumps its user once, not 100 times.
ALTER TABLE users ADD COLUMN page_version BIGINT NOT NULL DEFAULT 0;

CREATE FUNCTION lockbox_bump_page_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE users SET page_version = page_version + 1
    WHERE id IN (SELECT DISTINCT user_id FROM changed);
    RETURN NULL;
END
$$;

CREATE TRIGGER secrets_inserted_bump_page AFTER INSERT ON secrets
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT
    EXECUTE FUNCTION lockbox_bump_page_version();
CREATE TRIGGER secrets_updated_bump_page AFTER UPDATE ON secrets
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT
    EXECUTE FUNCTION lockbox_bump_page_version();
CREATE TRIGGER secrets_deleted_bump_page AFTER DELETE ON secrets
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT
    EXECUTE FUNCTION lockbox_bump_page_version();

CREATE FUNCTION lockbox_bump_own_page_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.page_version := OLD.page_version + 1;
    RETURN NEW;
END
$$;

CREATE TRIGGER users_shown_bump_page BEFORE UPDATE OF username, is_admin ON users FOR EACH ROW
    WHEN (OLD.username IS DISTINCT FROM NEW.username OR OLD.is_admin IS DISTINCT FROM NEW.is_admin)
    EXECUTE FUNCTION lockbox_bump_own_page_version();
