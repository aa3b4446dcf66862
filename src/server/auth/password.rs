//! Argon2id password hashing, always on the blocking thread pool.

use crate::model::AppError;
use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Algorithm, Argon2, Params, Version,
};
use std::sync::LazyLock;
use zeroize::Zeroizing;

/// OWASP's recommended Argon2id parameters: 19 MiB of memory, 2 passes, 1 lane.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid Argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A hash verified when the username is unknown, so a miss costs as long as a hit.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    hash_blocking(&Zeroizing::new("lockbox dummy password".to_string()))
        .expect("hashing a constant succeeds")
});

fn hash_blocking(password: &Zeroizing<String>) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(argon2()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

pub async fn hash(password: Zeroizing<String>) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await?
        .map_err(|e| crate::server::error::internal("password hashing failed", e))
}

/// Verifies `password` against `stored`, or against the dummy hash when there is no user, and
/// returns whether it matched (always `false` without a user).
pub async fn verify(stored: Option<String>, password: Zeroizing<String>) -> Result<bool, AppError> {
    tokio::task::spawn_blocking(move || {
        let real = stored.is_some();
        let hash_text = stored.unwrap_or_else(|| DUMMY_HASH.clone());
        let parsed = PasswordHash::new(&hash_text)
            .map_err(|e| crate::server::error::internal("stored password hash is unreadable", e))?;
        let ok = argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(real && ok)
    })
    .await?
}

/// Computes the dummy hash ahead of the first sign-in, so that one is not slower.
pub fn warm_up() {
    LazyLock::force(&DUMMY_HASH);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_then_verify() {
        let h = hash(Zeroizing::new("correct horse battery".into()))
            .await
            .unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify(
            Some(h.clone()),
            Zeroizing::new("correct horse battery".into())
        )
        .await
        .unwrap());
        assert!(!verify(Some(h), Zeroizing::new("wrong".into()))
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn unknown_user_never_verifies() {
        assert!(
            !verify(None, Zeroizing::new("lockbox dummy password".into()))
                .await
                .unwrap()
        );
    }
}
