//! Argon2id password hashing: on the blocking thread pool, at most [`hashers`] at once, each in a
//! block of memory that is reused while hashes keep coming and freed when they stop.
//!
//! Every hash needs 19 MiB. Unbounded, a burst of sign-ins multiplied that by the burst (and
//! glibc kept the freed blocks in its heaps, so resident memory never came back down). Now a
//! semaphore admits one hash per core — hashing is CPU-bound with one lane, so more at once only
//! adds memory and latency — and a sign-in waits at most [`QUEUE_WAIT`] for its turn and is then
//! answered 429. Reusing the blocks during a burst saves mapping and zeroing 19 MiB per hash
//! (`bench/signin.py` served about 1.5× as many sign-ins as with a fresh block each time).

use crate::model::AppError;
use argon2::{
    password_hash::{rand_core::OsRng, Output, ParamsString, PasswordHash, SaltString},
    Algorithm, Argon2, Block, Params, Version,
};
use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        LazyLock, Mutex, OnceLock,
    },
    time::Duration,
};
use tokio::sync::Semaphore;
use zeroize::Zeroizing;

/// OWASP's recommended Argon2id parameters: 19 MiB of memory, 2 passes, 1 lane.
fn params() -> Params {
    Params::new(19 * 1024, 2, 1, None).expect("valid Argon2 parameters")
}

/// How long a request waits for a free hasher before it is told to come back.
pub const QUEUE_WAIT: Duration = Duration::from_secs(3);

/// How long the hashing memory is kept after the last hash.
const RELEASE_AFTER: Duration = Duration::from_secs(2);

/// How many hashes run at once: one per core, at least 2 and at most 4 (4 × 19 MiB resident).
pub fn hashers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(2, 4)
}

struct Hashers {
    permits: Semaphore,
    /// At most one memory block per permit, reused while hashes keep coming.
    memory: Mutex<Vec<Vec<Block>>>,
    hashes_done: AtomicU64,
}

static HASHERS: LazyLock<Hashers> = LazyLock::new(|| {
    return_large_blocks_to_the_system();
    Hashers {
        permits: Semaphore::new(hashers()),
        memory: Mutex::new(Vec::new()),
        hashes_done: AtomicU64::new(0),
    }
});

/// glibc serves a large allocation with its own mapping and unmaps it when freed, but after the
/// first such free it raises that threshold to the freed size, and later 19 MiB blocks come from
/// per-thread heaps that keep them (measured: 483 MiB resident after a storm, two hashes at a
/// time). A fixed threshold keeps every block a mapping of its own, returned when freed.
fn return_large_blocks_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; any value is valid for this one.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
    }
}

/// Frees the kept blocks once no hash has run for [`RELEASE_AFTER`], so memory returns after a
/// storm; during one they are reused.
fn release_when_quiet() {
    let done = HASHERS.hashes_done.fetch_add(1, Ordering::SeqCst) + 1;
    tokio::spawn(async move {
        tokio::time::sleep(RELEASE_AFTER).await;
        if HASHERS.hashes_done.load(Ordering::SeqCst) == done {
            if let Ok(mut pool) = HASHERS.memory.lock() {
                pool.clear();
            }
        }
    });
}

/// A hash verified when the username is unknown, so a miss costs as long as a hit.
static DUMMY_HASH: OnceLock<String> = OnceLock::new();

fn busy() -> AppError {
    AppError::TooManyRequests {
        message: "The server is busy checking passwords. Try again in a moment.".into(),
        retry_after_secs: 1,
    }
}

/// Runs `work` on the blocking pool once a hasher is free, with that hasher's memory; or answers
/// 429 after [`QUEUE_WAIT`].
async fn with_hasher<T: Send + 'static>(
    work: impl FnOnce(&mut [Block]) -> T + Send + 'static,
) -> Result<T, AppError> {
    let permit = tokio::time::timeout(QUEUE_WAIT, HASHERS.permits.acquire())
        .await
        .map_err(|_| busy())?
        .map_err(|e| crate::server::error::internal("password hashers closed", e))?;
    let out = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let pooled = HASHERS.memory.lock().map(|mut m| m.pop()).ok().flatten();
        let mut blocks = pooled.unwrap_or_else(|| vec![Block::default(); params().block_count()]);
        let out = work(&mut blocks);
        if let Ok(mut pool) = HASHERS.memory.lock() {
            pool.push(blocks);
        }
        out
    })
    .await;
    release_when_quiet();
    Ok(out?)
}

/// Argon2 of `password` with this salt and these settings, computed in `blocks` (or in a block
/// of its own if the settings need more memory than the pool holds). Mirrors
/// `argon2::PasswordHasher::hash_password`, which always allocates.
fn compute(
    argon: &Argon2,
    params: &Params,
    password: &[u8],
    salt: &SaltString,
    blocks: &mut [Block],
) -> Result<Output, argon2::password_hash::Error> {
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.as_salt().decode_b64(&mut salt_bytes)?;
    let len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    Output::init_with(len, |out| {
        if blocks.len() >= params.block_count() {
            argon.hash_password_into_with_memory(password, salt_bytes, out, &mut *blocks)
        } else {
            argon.hash_password_into(password, salt_bytes, out)
        }
        .map_err(Into::into)
    })
}

fn hash_in(password: &[u8], blocks: &mut [Block]) -> Result<String, argon2::password_hash::Error> {
    let params = params();
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let salt = SaltString::generate(&mut OsRng);
    let output = compute(&argon, &params, password, &salt, blocks)?;
    Ok(PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params)?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    }
    .to_string())
}

/// Whether `password` matches the PHC string `stored`, computed in `blocks`.
fn verify_in(
    stored: &str,
    password: &[u8],
    blocks: &mut [Block],
) -> Result<bool, argon2::password_hash::Error> {
    let parsed = PasswordHash::new(stored)?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Err(argon2::password_hash::Error::PhcStringField);
    };
    let params = Params::try_from(&parsed)?;
    let argon = Argon2::new(
        Algorithm::try_from(parsed.algorithm)?,
        parsed
            .version
            .map(Version::try_from)
            .transpose()?
            .unwrap_or_default(),
        params.clone(),
    );
    let salt = SaltString::from_b64(salt.as_str())?;
    let computed = compute(&argon, &params, password, &salt, blocks)?;
    // `Output`'s equality is constant-time.
    Ok(computed == expected)
}

pub async fn hash(password: Zeroizing<String>) -> Result<String, AppError> {
    with_hasher(move |blocks| hash_in(password.as_bytes(), blocks))
        .await?
        .map_err(|e| crate::server::error::internal("password hashing failed", e))
}

/// Verifies `password` against `stored`, or against the dummy hash when there is no user, and
/// returns whether it matched (always `false` without a user). When every hasher stays busy the
/// answer is [`AppError::TooManyRequests`] and nothing was verified.
pub async fn verify(stored: Option<String>, password: Zeroizing<String>) -> Result<bool, AppError> {
    with_hasher(move |blocks| {
        let real = stored.is_some();
        let stored = match stored {
            Some(s) => s,
            None => dummy_hash(blocks)?.clone(),
        };
        let ok = verify_in(&stored, password.as_bytes(), blocks)
            .map_err(|e| crate::server::error::internal("stored password hash is unreadable", e))?;
        Ok(real && ok)
    })
    .await?
}

fn dummy_hash(blocks: &mut [Block]) -> Result<&'static String, AppError> {
    if let Some(h) = DUMMY_HASH.get() {
        return Ok(h);
    }
    let h = hash_in(b"lockbox dummy password", blocks)
        .map_err(|e| crate::server::error::internal("dummy password hash failed", e))?;
    Ok(DUMMY_HASH.get_or_init(|| h))
}

/// Computes the dummy hash ahead of the first sign-in, so that one is not slower.
pub async fn warm_up() {
    if let Err(e) = with_hasher(|blocks| dummy_hash(blocks).map(|_| ())).await {
        tracing::warn!(error = %e, "computing the dummy password hash failed");
    }
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

    /// Hashes made by the crate's own allocating path (all stored hashes so far) still verify,
    /// and ours verify with it: the pooled path computes the same function.
    #[test]
    fn pooled_and_allocating_paths_agree() {
        use argon2::{PasswordHasher, PasswordVerifier};
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params());
        let salt = SaltString::generate(&mut OsRng);
        let theirs = argon
            .hash_password(b"tr0ub4dor&3 tr0ub4dor", &salt)
            .unwrap()
            .to_string();
        let mut blocks = vec![Block::default(); params().block_count()];
        assert!(verify_in(&theirs, b"tr0ub4dor&3 tr0ub4dor", &mut blocks).unwrap());
        assert!(!verify_in(&theirs, b"tr0ub4dor&3 tr0ub4doR", &mut blocks).unwrap());
        let ours = hash_in(b"tr0ub4dor&3 tr0ub4dor", &mut blocks).unwrap();
        assert!(argon
            .verify_password(b"tr0ub4dor&3 tr0ub4dor", &PasswordHash::new(&ours).unwrap())
            .is_ok());
        // Other settings (more memory than a pooled block) still verify.
        let big = Params::new(32 * 1024, 1, 1, None).unwrap();
        let other = Argon2::new(Algorithm::Argon2id, Version::V0x13, big)
            .hash_password(b"pw-pw-pw-pw-pw", &salt)
            .unwrap()
            .to_string();
        assert!(verify_in(&other, b"pw-pw-pw-pw-pw", &mut blocks).unwrap());
    }

    #[tokio::test]
    async fn unknown_user_never_verifies() {
        assert!(
            !verify(None, Zeroizing::new("lockbox dummy password".into()))
                .await
                .unwrap()
        );
    }

    /// More hashes than hashers at once: all complete, never more than `hashers()` blocks exist.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrency_and_memory_are_bounded() {
        let tasks: Vec<_> = (0..8)
            .map(|i| tokio::spawn(hash(Zeroizing::new(format!("password number {i}")))))
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        assert!(HASHERS.memory.lock().unwrap().len() <= hashers());
    }
}
