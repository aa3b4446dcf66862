//! `bench/propagation`: one cluster-wide source into 1,000 project namespaces against the fake
//! API server adding 2 ms to every request, driven by the real controller (status rows into
//! SQLite included). Measures the time to converge from a cold start and after a source
//! update, and counts the requests by verb. Run with
//! `cargo test --release --features ssr --lib propagation::bench -- --ignored --nocapture`.

use super::{
    controller::{self, Options},
    fake_api::FakeApi,
    kube_store::{
        tests::{settings, source_json, sqlite, Projects},
        KubeStore,
    },
    reconcile::LABEL_CLUSTER_WIDE,
    status, Store,
};
use std::{
    collections::BTreeMap,
    sync::Arc,
    time::{Duration, Instant},
};

const NAMESPACES: usize = 1000;
const DELAY: Duration = Duration::from_millis(2);
const TARGET: Duration = Duration::from_secs(5);

fn counts(api: &FakeApi) -> BTreeMap<String, usize> {
    let mut by = BTreeMap::new();
    for r in api.seen() {
        *by.entry(r.verb).or_default() += 1;
    }
    by
}

fn copies_at(api: &FakeApi, token: &str) -> usize {
    (0..NAMESPACES)
        .filter(|i| {
            api.get(&format!("team-{i:04}"), "registry-creds")
                .is_some_and(|c| c["data"]["token"] == token)
        })
        .count()
}

async fn converge(api: &FakeApi, token: &str, db: &crate::server::db::Db) -> Duration {
    let start = Instant::now();
    loop {
        if copies_at(api, token) == NAMESPACES {
            // And the status says so.
            let rows = status::list(db).await.unwrap();
            if rows.len() == NAMESPACES
                && rows.iter().all(|r| r.state == "synced")
                && rows.iter().map(|r| &r.synced_version).all(|v| v.is_some())
            {
                return start.elapsed();
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "did not converge"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: bench/propagation runs it"]
async fn bench_one_source_into_1000_namespaces() {
    let b64 = |s: &str| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(s)
    };
    let (db, _dir) = sqlite().await;
    let api = FakeApi::with_delay(DELAY);
    let mut src = api.put(source_json(
        "registry-creds",
        LABEL_CLUSTER_WIDE,
        &[("token", "t1"), ("user", "u")],
    ));
    let names: Vec<String> = (0..NAMESPACES).map(|i| format!("team-{i:04}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let projects = Projects::of(&refs);
    let (_lead, leader) = tokio::sync::watch::channel(true);
    let client = api.client();
    let make = move || -> Arc<dyn Store> {
        Arc::new(KubeStore::new(client.clone(), settings(), projects.clone()))
    };
    let _handle = controller::spawn_with(
        make,
        db.clone(),
        Options::new(Duration::from_secs(300)),
        leader,
    );

    let cold = converge(&api, &b64("t1"), &db).await;
    // Let stragglers (events of its own writes) arrive: a settled controller writes nothing.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let cold_counts = counts(&api);

    api.forget_seen();
    src["data"] = serde_json::json!({"token": b64("t2"), "user": b64("u")});
    api.put(src);
    let update = converge(&api, &b64("t2"), &db).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let update_counts = counts(&api);

    let fmt = |c: &BTreeMap<String, usize>| {
        c.iter()
            .map(|(v, n)| format!("{n} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let total = |c: &BTreeMap<String, usize>| c.values().sum::<usize>();
    let report = format!(
        "| phase | time to converge | requests |\n|---|---|---|\n\
         | cold start (1 source, {NAMESPACES} namespaces, {} ms per request) | **{:.2} s** | {} ({}) |\n\
         | after a source update | **{:.2} s** | {} ({}) |\n",
        DELAY.as_millis(),
        cold.as_secs_f64(),
        total(&cold_counts),
        fmt(&cold_counts),
        update.as_secs_f64(),
        total(&update_counts),
        fmt(&update_counts),
    );
    println!("\n{report}");
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("propagation.md"), &report).unwrap();

    // No needless requests: one create per namespace, then one update per namespace; no
    // write repeated, none refused.
    assert_eq!(
        cold_counts.get("create"),
        Some(&NAMESPACES),
        "{cold_counts:?}"
    );
    assert_eq!(cold_counts.get("update"), None, "{cold_counts:?}");
    assert_eq!(
        update_counts.get("update"),
        Some(&NAMESPACES),
        "{update_counts:?}"
    );
    assert_eq!(update_counts.get("create"), None, "{update_counts:?}");
    assert_eq!(update_counts.get("list"), None, "{update_counts:?}");
    assert!(cold < TARGET, "cold start took {cold:?}");
    assert!(update < TARGET, "the update took {update:?}");
}
