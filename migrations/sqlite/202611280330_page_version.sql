-- page_version: bumped in the transaction of every change to what a user's own pages show (their
-- secrets, their name, their admin link), so a rendered page cached by any replica can be checked
-- against the database at the next view (see `web::page_cache`). Triggers keep the rule in one
-- place: no write path can forget it.
ALTER TABLE users ADD COLUMN page_version BIGINT NOT NULL DEFAULT 0;

CREATE TRIGGER secrets_inserted_bump_page AFTER INSERT ON secrets FOR EACH ROW
BEGIN
    UPDATE users SET page_version = page_version + 1 WHERE id = NEW.user_id;
END;

CREATE TRIGGER secrets_updated_bump_page AFTER UPDATE ON secrets FOR EACH ROW
BEGIN
    UPDATE users SET page_version = page_version + 1 WHERE id IN (OLD.user_id, NEW.user_id);
END;

CREATE TRIGGER secrets_deleted_bump_page AFTER DELETE ON secrets FOR EACH ROW
BEGIN
    UPDATE users SET page_version = page_version + 1 WHERE id = OLD.user_id;
END;

CREATE TRIGGER users_shown_bump_page AFTER UPDATE OF username, is_admin ON users FOR EACH ROW
WHEN OLD.username IS NOT NEW.username OR OLD.is_admin IS NOT NEW.is_admin
BEGIN
    UPDATE users SET page_version = page_version + 1 WHERE id = NEW.id;
END;
