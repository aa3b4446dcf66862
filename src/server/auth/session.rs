//! The login session: its cookie, who is signed in, and its idle and absolute timeouts. Only
//! signing in writes a new one: nothing else stores a session for a visitor (the outcome of a
//! form post travels in the flash cookie, `web::flash`).

use crate::{
    model::AppError,
    server::{db, state::AppState},
};
use tower_sessions::Session;

const USER_ID: &str = "uid";
const AUTH_AT: &str = "auth_at";
const SEEN_AT: &str = "seen_at";
/// The account's login epoch when this session was signed in (see `db::users::UserRow`).
const EPOCH: &str = "epoch";
/// Activity is written back at most this often, so most requests only read the session.
const SEEN_GRANULARITY_MS: i64 = 60_000;

/// The signed-in user, as loaded for one request.
#[derive(Clone, Debug)]
pub struct AuthUser {
    pub id: String,
    pub username: String,
    pub is_admin: bool,
    /// Signed in with a one-time password that must be replaced before anything else.
    pub must_change_password: bool,
}

impl AuthUser {
    pub fn info(&self) -> crate::model::UserInfo {
        crate::model::UserInfo {
            id: self.id.clone(),
            username: self.username.clone(),
            is_admin: self.is_admin,
            must_change_password: self.must_change_password,
        }
    }
}

/// The login-session cookie's name. `__Host-` when served over https (`secure`): such a cookie
/// must be `Secure`, `Path=/` and host-only, so no sibling domain can plant or overwrite it.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-lockbox_session"
    } else {
        "lockbox_session"
    }
}

/// Starts a signed-in session under a fresh id (so a planted id is worthless), in the account's
/// current login `epoch`.
pub async fn sign_in(session: &Session, user_id: &str, epoch: i64) -> Result<(), AppError> {
    session.cycle_id().await?;
    let now = db::now_ms();
    session.insert(USER_ID, user_id).await?;
    session.insert(AUTH_AT, now).await?;
    session.insert(SEEN_AT, now).await?;
    session.insert(EPOCH, epoch).await?;
    Ok(())
}

/// Keeps this session signed in after its account moved to a new login `epoch` (a password
/// change, which ends every other session), under a fresh id.
pub async fn move_to_epoch(session: &Session, epoch: i64) -> Result<(), AppError> {
    session.cycle_id().await?;
    session.insert(EPOCH, epoch).await?;
    Ok(())
}

pub async fn sign_out(session: &Session) -> Result<(), AppError> {
    session.flush().await?;
    Ok(())
}

/// Where a signed-in session stands, from its times (all in Unix milliseconds).
#[derive(Debug, PartialEq, Eq)]
pub enum Freshness {
    /// Past the idle or the absolute timeout: sign out.
    Expired,
    /// Valid; activity was recorded recently enough.
    Fresh,
    /// Valid; record this activity (so the idle timeout starts again).
    Touch,
}

pub fn freshness(
    now: i64,
    auth_at: i64,
    seen_at: i64,
    idle_ms: i64,
    absolute_ms: i64,
) -> Freshness {
    if now - auth_at > absolute_ms || now - seen_at > idle_ms {
        Freshness::Expired
    } else if now - seen_at > SEEN_GRANULARITY_MS {
        Freshness::Touch
    } else {
        Freshness::Fresh
    }
}

/// The signed-in user, or `None` when there is none or the session timed out.
pub async fn current(state: &AppState, session: &Session) -> Result<Option<AuthUser>, AppError> {
    Ok(current_row(state, session).await?.map(|user| AuthUser {
        id: user.id,
        username: user.username,
        is_admin: user.is_admin,
        must_change_password: user.must_change_password,
    }))
}

/// As [`current`], with the whole account row (its page version, say).
pub async fn current_row(
    state: &AppState,
    session: &Session,
) -> Result<Option<db::users::UserRow>, AppError> {
    let Some(user_id) = session.get::<String>(USER_ID).await? else {
        return Ok(None);
    };
    let now = db::now_ms();
    let auth_at = session.get::<i64>(AUTH_AT).await?.unwrap_or(0);
    let seen_at = session.get::<i64>(SEEN_AT).await?.unwrap_or(0);
    let idle = state.config.session_idle.as_millis() as i64;
    let absolute = state.config.session_absolute.as_millis() as i64;
    let fresh = freshness(now, auth_at, seen_at, idle, absolute);
    if fresh == Freshness::Expired {
        session.flush().await?;
        return Ok(None);
    }
    let Some(user) = db::users::by_id(&state.db, &user_id).await? else {
        session.flush().await?;
        return Ok(None);
    };
    // Checked on every request: a disabled account, or a session from before a password
    // change, is signed out at once.
    let epoch = session.get::<i64>(EPOCH).await?.unwrap_or(0);
    if user.disabled || epoch != user.login_epoch {
        session.flush().await?;
        return Ok(None);
    }
    if fresh == Freshness::Touch {
        session.insert(SEEN_AT, now).await?;
    }
    Ok(Some(user))
}

#[cfg(test)]
mod tests {
    use super::{freshness, Freshness::*};

    const MIN: i64 = 60_000;
    const IDLE: i64 = 60 * MIN;
    const ABSOLUTE: i64 = 12 * 60 * MIN;

    #[test]
    fn fresh_within_both_timeouts() {
        let t0 = 1_000_000_000;
        assert_eq!(freshness(t0, t0, t0, IDLE, ABSOLUTE), Fresh);
        assert_eq!(freshness(t0 + 30_000, t0, t0, IDLE, ABSOLUTE), Fresh);
    }

    #[test]
    fn activity_is_recorded_at_most_once_a_minute() {
        let t0 = 1_000_000_000;
        assert_eq!(freshness(t0 + MIN + 1, t0, t0, IDLE, ABSOLUTE), Touch);
    }

    #[test]
    fn idle_timeout() {
        let t0 = 1_000_000_000;
        assert_eq!(freshness(t0 + IDLE, t0, t0, IDLE, ABSOLUTE), Touch);
        assert_eq!(freshness(t0 + IDLE + 1, t0, t0, IDLE, ABSOLUTE), Expired);
    }

    #[test]
    fn absolute_timeout_holds_even_when_active() {
        let t0 = 1_000_000_000;
        let now = t0 + ABSOLUTE + 1;
        // Seen a second ago, but signed in more than 12 hours ago.
        assert_eq!(freshness(now, t0, now - 1_000, IDLE, ABSOLUTE), Expired);
        assert_eq!(freshness(now - 2, t0, now - 1_000, IDLE, ABSOLUTE), Fresh);
    }
}
