//! The keyring's rules, the live keyring's switch, and the generated key files' rotation:
//! all or nothing, under the lock, off the async workers.

use super::*;
use std::time::Duration;

fn uses(ids: &[&str]) -> Vec<KeyUse> {
    ids.iter()
        .map(|id| KeyUse {
            key_id: id.to_string(),
            user_keys: 1,
            purpose_keys: 0,
        })
        .collect()
}

#[test]
fn keyring_finds_active_and_previous_and_drops_duplicates() {
    let a = Kek::from_bytes(&[1; 32]).unwrap();
    let b = Kek::from_bytes(&[2; 32]).unwrap();
    let (a_id, b_id) = (a.id().to_string(), b.id().to_string());
    let ring = Keyring::with_previous(
        b,
        vec![
            a,
            Kek::from_bytes(&[1; 32]).unwrap(),
            Kek::from_bytes(&[2; 32]).unwrap(),
        ],
    );
    assert_eq!(ring.ids(), [b_id.as_str(), a_id.as_str()]);
    assert_eq!(ring.get(&a_id).unwrap().id(), a_id);
    assert!(ring.get("0000").is_none());
}

#[tokio::test]
async fn live_keyring_switches_for_new_snapshots_only_and_wakes_the_rewrap() {
    let a = Kek::from_bytes(&[1; 32]).unwrap();
    let a_id = a.id().to_string();
    let live = LiveKeyring::new(Keyring::new(a));
    assert!(
        live.settled_for(Duration::from_secs(3600)),
        "nothing switched yet"
    );
    let before = live.current();
    let b = Kek::from_bytes(&[2; 32]).unwrap();
    let b_id = b.id().to_string();
    live.switch(Keyring::with_previous(
        b,
        vec![Kek::from_bytes(&[1; 32]).unwrap()],
    ));
    // A snapshot taken before keeps its keyring; a new one has the new active key and
    // still holds the old one.
    assert_eq!(before.active().id(), a_id);
    let after = live.current();
    assert_eq!(after.ids(), [b_id.as_str(), a_id.as_str()]);
    assert!(!live.settled_for(Duration::from_secs(3600)));
    // However long ago the switch, not settled while an operation holds the old keyring.
    assert!(
        !live.settled_for(Duration::ZERO),
        "the old snapshot is held"
    );
    drop(before);
    assert!(live.settled_for(Duration::ZERO));
    // The switch left a wake-up for the rewrap task, even though it was not waiting yet.
    tokio::time::timeout(Duration::from_secs(1), live.switched())
        .await
        .expect("woken");
}

#[test]
fn check_names_a_missing_key_and_accepts_any_held_one() {
    let a = Kek::from_bytes(&[1; 32]).unwrap();
    let a_id = a.id().to_string();
    let b = Kek::from_bytes(&[2; 32]).unwrap();
    let b_id = b.id().to_string();
    let checks = vec![db::keyring::KeyCheck {
        key_id: a_id.clone(),
        check_blob: a.check_blob(),
    }];
    let known = vec![a_id.clone()];
    // Only B: the rows need A.
    let only_b = Keyring::new(Kek::from_bytes(&[2; 32]).unwrap());
    let e = check(&only_b, &known, &uses(&[&a_id]), &checks)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&a_id) && e.contains("Nothing was changed"),
        "{e}"
    );
    // B active, A previous: accepted.
    let both = Keyring::with_previous(b, vec![Kek::from_bytes(&[1; 32]).unwrap()]);
    check(&both, &known, &uses(&[&a_id]), &checks).unwrap();
    // Nothing wrapped yet, but the database knows only A: B alone is a wrong key.
    let e = check(&only_b, &known, &[], &checks).unwrap_err();
    assert!(matches!(e, KeyError::WrongKey { .. }), "{e}");
    // After the rotation (rows under B, A's check row kept): B alone is fine.
    let known = vec![a_id.clone(), b_id.clone()];
    check(&only_b, &known, &uses(&[&b_id]), &checks).unwrap();
}

/// A configuration over a fresh data directory (SQLite, the generated key file), with `extra`.
fn config_in(dir: &std::path::Path, extra: &[(&str, &str)]) -> Config {
    let mut vars: Vec<(String, String)> = extra
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    vars.push(("LOCKBOX_DATA_DIR".into(), dir.display().to_string()));
    crate::server::config::Env(move |k: &str| {
        vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    })
    .config()
    .unwrap()
}

/// A fresh installation: its database, its generated key file, the keyring loaded from it
/// and the audit key opened (a rotation is audited).
async fn installation(dir: &std::path::Path) -> (Config, Db, Keyring) {
    let config = config_in(dir, &[]);
    let db = Db::connect(&config).await.unwrap();
    db.migrate().await.unwrap();
    let keyring = load(&config, &db).await.unwrap();
    crate::server::audit_log::open(&db, &keyring, crate::server::db::audit::Begin::Allowed)
        .await
        .unwrap();
    (config, db, keyring)
}

/// The key files' bytes (`None`: absent) and modes.
fn key_files(config: &Config) -> Vec<(Option<Vec<u8>>, Option<u32>)> {
    use std::os::unix::fs::PermissionsExt;
    [key_file_path(config), previous_key_file_path(config)]
        .iter()
        .map(|p| {
            (
                std::fs::read(p).ok(),
                std::fs::metadata(p)
                    .ok()
                    .map(|m| m.permissions().mode() & 0o777),
            )
        })
        .collect()
}

/// Rewraps everything under `keyring`'s active key, as the server does in the background (a
/// rotation is refused until then).
async fn rewrap(db: &Db, keyring: &Keyring) {
    crate::server::rotation::run_pass(db, keyring, 100, Duration::ZERO)
        .await
        .unwrap();
}

async fn requested_events(db: &Db) -> i64 {
    crate::on_pool!(&db.read, |p| sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE action = 'key.rotation.requested'"
    )
    .fetch_one(p)
    .await
    .unwrap())
}

/// When the database step after the file writes fails (here the database refuses the new
/// key's check, as a full disk or a lost connection would), the rotation is undone: both key
/// files hold exactly what they held (0600), no temporary file is left, nothing is audited, and
/// the error says that nothing changed. Once the database accepts it, the rotation succeeds.
#[tokio::test]
async fn a_rotation_whose_database_step_fails_changes_no_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let (config, db, a) = installation(dir.path()).await;
    // A first rotation, so that master.key.previous exists and must be restored too.
    let (b, _) = rotate(&config, &db, &a, &By::CommandLine).await.unwrap();
    rewrap(&db, &b).await;
    let before = key_files(&config);
    assert!(before
        .iter()
        .all(|(bytes, mode)| bytes.is_some() && *mode == Some(0o600)));
    crate::on_pool!(&db.write, |p| sqlx::raw_sql(
        "CREATE TRIGGER refuse_new_keys BEFORE INSERT ON keyring \
         BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
    )
    .execute(p)
    .await
    .map(|_| ())
    .unwrap());

    let e = rotate(&config, &db, &b, &By::CommandLine)
        .await
        .map(|_| ())
        .unwrap_err();
    assert!(matches!(e, KeyError::RotationFailed(_)), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains("nothing was changed") && text.contains("refused by the test"),
        "{text}"
    );
    // Compared without printing them: they hold keys.
    assert!(
        key_files(&config) == before,
        "the key files were left changed"
    );
    let stray: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
    assert_eq!(requested_events(&db).await, 1, "only the first rotation");
    // The key files are what a restart loads: the same keyring as before.
    assert_eq!(load(&config, &db).await.unwrap().ids(), b.ids());

    crate::on_pool!(&db.write, |p| sqlx::raw_sql("DROP TRIGGER refuse_new_keys")
        .execute(p)
        .await
        .map(|_| ())
        .unwrap());
    let (c, rotated) = rotate(&config, &db, &b, &By::CommandLine).await.unwrap();
    assert_eq!(rotated.old_key_id, b.active().id());
    assert_eq!(c.active().id(), rotated.new_key_id);
    assert_eq!(requested_events(&db).await, 2);
}

/// A keyring whose active key is no longer the one in master.key (a `lockbox keys rotate` ran
/// after this server started) refuses to rotate, naming the problem, and changes nothing.
#[tokio::test]
async fn a_rotation_refuses_a_key_file_changed_since_start() {
    let dir = tempfile::tempdir().unwrap();
    let (config, db, started_with) = installation(dir.path()).await;
    let (on_disk, _) = rotate(&config, &db, &started_with, &By::CommandLine)
        .await
        .unwrap();
    let before = key_files(&config);
    let e = rotate(&config, &db, &started_with, &By::CommandLine)
        .await
        .map(|_| ())
        .unwrap_err();
    assert!(matches!(e, KeyError::KeyFileChanged { .. }), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains(on_disk.active().id())
            && text.contains(started_with.active().id())
            && text.contains("Restart the server")
            && text.contains("Nothing was changed"),
        "{text}"
    );
    assert!(key_files(&config) == before, "the key files changed");
    assert_eq!(requested_events(&db).await, 1);
}

/// While another process holds the key files' lock (a second `lockbox keys rotate`, or a
/// server pruning previous keys), a rotation and a prune are refused at once, clearly, and
/// change nothing; once it is released both work.
#[tokio::test]
async fn the_key_files_lock_holds_off_rotation_and_pruning() {
    let dir = tempfile::tempdir().unwrap();
    let (config, db, a) = installation(dir.path()).await;
    let (b, _) = rotate(&config, &db, &a, &By::CommandLine).await.unwrap();
    rewrap(&db, &b).await;
    // Another open file description, as another process has: flock excludes it too.
    let other = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.path().join(LOCK_FILE))
        .expect("the rotation created the lock file");
    other.lock().unwrap();
    let before = key_files(&config);
    let e = rotate(&config, &db, &b, &By::CommandLine)
        .await
        .map(|_| ())
        .unwrap_err();
    assert!(matches!(e, KeyError::KeyFilesBusy), "{e:?}");
    assert!(e.to_string().contains(LOCK_FILE), "{e}");
    let e = forget_unused_previous(&config, &[], b.active().id())
        .await
        .unwrap_err();
    assert!(matches!(e, KeyError::KeyFilesBusy), "{e:?}");
    assert!(key_files(&config) == before, "the key files changed");

    drop(other);
    let in_use = db::rotation::use_by_key(&db).await.unwrap();
    let dropped = forget_unused_previous(&config, &in_use, b.active().id())
        .await
        .unwrap();
    assert_eq!(dropped, [a.active().id()]);
    assert!(!previous_key_file_path(&config).exists());
    rotate(&config, &db, &b, &By::CommandLine).await.unwrap();
}

/// Pruning never drops the running server's own active key, even when the rows do not use it
/// (after a `lockbox keys rotate` on the host it sits in master.key.previous while the server
/// still wraps new keys with it).
#[tokio::test]
async fn pruning_keeps_the_servers_active_key() {
    let dir = tempfile::tempdir().unwrap();
    let (config, db, server) = installation(dir.path()).await;
    rotate(&config, &db, &server, &By::CommandLine)
        .await
        .unwrap();
    let kept = forget_unused_previous(&config, &[], server.active().id())
        .await
        .unwrap();
    assert!(kept.is_empty(), "{kept:?}");
    assert!(load(&config, &db)
        .await
        .unwrap()
        .holds(server.active().id()));
}

/// An online rotation only where no other server can share the key file: SQLite with the local
/// backend. PostgreSQL and Kubernetes are refused, with a reason; keys from the environment
/// are not Lockbox's to rotate.
#[test]
fn online_rotation_is_refused_where_servers_may_share_the_key_file() {
    let dir = tempfile::tempdir().unwrap();
    assert!(online_rotation_refusal(&config_in(dir.path(), &[])).is_none());
    let pg = ("LOCKBOX_DATABASE_URL", "postgres://lockbox@db/lockbox");
    for (extra, why) in [
        (vec![pg], "PostgreSQL"),
        (vec![("LOCKBOX_KUBE", "1")], "LOCKBOX_KUBE=1"),
        (vec![pg, ("LOCKBOX_KUBE", "1")], "LOCKBOX_KUBE=1"),
    ] {
        let e = online_rotation_refusal(&config_in(dir.path(), &extra)).expect("refused");
        assert!(matches!(e, KeyError::SharedKeyFile { .. }), "{e:?}");
        let text = e.to_string();
        assert!(
            text.contains(why) && text.contains("lockbox keys rotate"),
            "{text}"
        );
    }
    let key = crate::server::crypto::Kek::generate().to_base64();
    let e = online_rotation_refusal(&config_in(dir.path(), &[("LOCKBOX_MASTER_KEY", &key)]));
    assert!(matches!(e, Some(KeyError::NotAKeyFile)), "{e:?}");
}

/// Key files are read on a blocking thread, never on the async worker: here master.key is a
/// FIFO that only a task of the same single-threaded runtime writes (a stand-in for a slow
/// disk). Read on the worker, the read would wait for that task, which could never run.
#[test]
fn key_files_are_read_off_the_async_worker() {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = tempfile::tempdir().unwrap();
    let config = config_in(dir.path(), &[]);
    let fifo = key_file_path(&config);
    let made = std::process::Command::new("mkfifo")
        .args(["-m", "600"])
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let key = Kek::generate();
    let (key_text, key_id) = (
        format!("{}\n", key.to_base64().as_str()),
        key.id().to_string(),
    );
    let (tx, rx) = std::sync::mpsc::channel();
    let path = fifo.clone();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let loaded = runtime.block_on(async move {
            let db = Db::connect(&config).await.unwrap();
            db.migrate().await.unwrap();
            // The writer: opens the FIFO without blocking (refused until a reader has it open).
            tokio::spawn(async move {
                loop {
                    match std::fs::OpenOptions::new()
                        .write(true)
                        .custom_flags(libc::O_NONBLOCK)
                        .open(&path)
                    {
                        Ok(mut w) => {
                            std::io::Write::write_all(&mut w, key_text.as_bytes()).unwrap();
                            return;
                        }
                        Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                    }
                }
            });
            load(&config, &db)
                .await
                .map(|k| k.active().id().to_string())
        });
        let _ = tx.send(loaded);
    });
    match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(loaded) => assert_eq!(loaded.unwrap(), key_id),
        Err(_) => {
            // Release the stuck reader before failing.
            let _ = std::fs::OpenOptions::new().write(true).open(&fifo);
            panic!("loading the keyring blocked the async worker on a key-file read");
        }
    }
}

/// Each refusal's message is written once: the command line prints `to_string()`, and the
/// admin page and the API answer the very same text, with the refusal's code.
#[test]
fn refusals_answer_the_command_lines_message() {
    use crate::model::AppError;
    for e in [
        KeyError::NotAKeyFile,
        KeyError::SharedKeyFile { why: "a reason" },
        KeyError::RotationInProgress { done: 1, total: 2 },
        KeyError::KeyFileChanged {
            on_disk: "k2".into(),
            active: "k1".into(),
        },
        KeyError::KeyFilesBusy,
    ] {
        let text = e.to_string();
        let (shown, field) = match e.into_app_error() {
            AppError::Conflict { field, message } => (message, field),
            AppError::Validation { fields, .. } => {
                (fields[0].message.clone(), fields[0].field.clone())
            }
            other => panic!("{text}: answered {other:?}"),
        };
        assert_eq!(shown, text);
        assert_eq!(field, "rotation");
    }
}

/// A failed rotation answers 500 with where things stand (undone, or nothing lost), never its
/// cause, which may name paths or SQL; the command line's message names the cause as well.
#[test]
fn a_failed_rotation_answers_where_things_stand_without_the_cause() {
    let cause = || {
        Box::new(KeyError::BadKeyFile {
            path: "/cause-path/master.key".into(),
            reason: "cause-reason".into(),
        })
    };
    for (e, says) in [
        (KeyError::RotationFailed(cause()), "was undone"),
        (
            KeyError::RestoreFailed {
                cause: cause(),
                restore: "restore-reason".into(),
            },
            "nothing is lost",
        ),
    ] {
        let command_line = e.to_string();
        assert!(
            command_line.contains("/cause-path/master.key"),
            "{command_line}"
        );
        let answered = e.into_app_error();
        assert_eq!((answered.status(), answered.code()), (500, "internal"));
        let text = answered.to_string();
        assert!(
            text.contains(says) && text.contains("server's log"),
            "{text}"
        );
        for cause in ["/cause-path", "cause-reason", "restore-reason"] {
            assert!(!text.contains(cause), "{text}");
        }
    }
}
