//! Crash safety: SIGKILL the server during a burst of concurrent creates, restart, and check
//! that every acknowledged create is present and decrypts, and nothing half-written exists.
#![cfg(feature = "ssr")]

mod common;

use common::{Backend, TestApp};
use std::{
    collections::BTreeSet,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};
use tokio::sync::Mutex;

async fn kill_during_concurrent_creates(backend: Backend) {
    let mut app = TestApp::spawn_with(
        backend,
        common::ServerOptions {
            extra_env: vec![("LOCKBOX_MAX_SECRETS".into(), "100000".into())],
            ..Default::default()
        },
    )
    .await;
    let clients: Vec<_> = futures::future::join_all((0..8).map(|i| {
        let app = &app;
        async move { (format!("user{i}"), app.user(&format!("user{i}")).await) }
    }))
    .await;
    let acknowledged = Arc::new(Mutex::new(BTreeSet::new()));
    // Set just before the kill: a failure before it is a bug (a 500 under load, say), not the
    // crash under test.
    let killed = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for (username, client) in clients {
        let acked = acknowledged.clone();
        let killed = killed.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0..10_000 {
                let name = format!("K{n:05}");
                let value = format!("value-of-{username}-{n}\nline two");
                let r = client
                    .http
                    .post(format!("{}/api/secrets/create", client.base))
                    .form(&[("name", name.as_str()), ("value", value.as_str())])
                    .send()
                    .await;
                match r {
                    Ok(res) if res.status() == 200 => {
                        acked.lock().await.insert((username.clone(), name, value));
                    }
                    // The server died under us: stop this client.
                    _ if killed.load(Ordering::SeqCst) => return Ok(()),
                    Ok(res) => {
                        let status = res.status();
                        let body = res.text().await.unwrap_or_default();
                        return Err(format!(
                            "{username} {name} before the kill: {status} {body}"
                        ));
                    }
                    Err(e) => return Err(format!("{username} {name} before the kill: {e}")),
                }
            }
            Ok(())
        }));
    }
    // Let the burst run, then kill the server mid-flight.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    killed.store(true, Ordering::SeqCst);
    app.server.as_mut().unwrap().kill9();
    for t in tasks {
        let outcome = tokio::time::timeout(Duration::from_secs(10), t)
            .await
            .expect("a client stops once the server is gone")
            .expect("client task");
        if let Err(failure) = outcome {
            panic!("{failure}\n{}", app.log_tail());
        }
    }
    let acknowledged = acknowledged.lock().await.clone();
    assert!(
        acknowledged.len() > 50,
        "the burst wrote something: {}",
        acknowledged.len()
    );

    app.start().expect("restarts after SIGKILL");
    // Every stored row decrypts (decrypt_all panics otherwise) ...
    let stored: BTreeSet<_> = common::decrypt_all(&app).await.into_iter().collect();
    // ... every acknowledged create is there, intact ...
    let missing: Vec<_> = acknowledged.difference(&stored).collect();
    assert!(
        missing.is_empty(),
        "acknowledged but lost: {:?}",
        &missing[..missing.len().min(5)]
    );
    // ... and the few that were not acknowledged (in flight at the kill) are whole or absent.
    let extra = stored.len() - acknowledged.len();
    assert!(
        extra <= 8,
        "at most one in-flight create per client: {extra}"
    );
    for (user, name, value) in &stored {
        let n: usize = name[1..].parse().unwrap();
        assert_eq!(value, &format!("value-of-{user}-{n}\nline two"));
    }
    // Each created secret has its audit record (same transaction).
    let audits: Vec<i64> = common::query_column(
        &app,
        "SELECT COUNT(*) FROM audit_events WHERE action = 'secret.created'",
    )
    .await;
    assert_eq!(audits[0] as usize, stored.len());
    // ... and the audit chain, written batch by batch, verifies up to its head.
    let out = app.cli(&["admin", "audit", "verify", "--json"]);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
both!(
    kill_during_concurrent_creates,
    crate::kill_during_concurrent_creates
);
