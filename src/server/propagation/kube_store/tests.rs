//! The Kubernetes store against the recording fake API server: the requests for a new
//! source, an update, a delete, a new namespace, a conflict (no write), and a watch that fails
//! and is resumed.

use super::*;
use crate::server::propagation::{
    fake_api::FakeApi,
    reconcile::{self, Plan, State},
};
use base64::Engine;
use serde_json::{json, Value};

pub(crate) const SYS: &str = "lockbox";

/// Project namespaces a test changes at will.
#[derive(Default)]
pub(crate) struct Projects(pub Mutex<BTreeSet<String>>);

impl Projects {
    pub(crate) fn of(names: &[&str]) -> Arc<Self> {
        Arc::new(Self(Mutex::new(
            names.iter().map(|s| s.to_string()).collect(),
        )))
    }

    pub(crate) fn add(&self, ns: &str) {
        self.0.lock().unwrap().insert(ns.into());
    }

    pub(crate) fn remove(&self, ns: &str) {
        self.0.lock().unwrap().remove(ns);
    }
}

#[async_trait::async_trait]
impl ProjectNamespaces for Projects {
    async fn namespaces(&self) -> Result<BTreeSet<String>, String> {
        Ok(self.0.lock().unwrap().clone())
    }
}

pub(crate) fn settings() -> Settings {
    Settings {
        backoff_min: Duration::from_millis(10),
        backoff_max: Duration::from_millis(50),
        ..Settings::new(SYS)
    }
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

pub(crate) fn source_json(name: &str, label: &str, data: &[(&str, &str)]) -> Value {
    let data: serde_json::Map<String, Value> = data
        .iter()
        .map(|(k, v)| (k.to_string(), json!(b64(v))))
        .collect();
    json!({"metadata": {"name": name, "namespace": SYS, "labels": {label: "true"}},
           "type": "Opaque", "data": data})
}

/// Waits until the store's snapshot satisfies `ready` (the watches have caught up).
pub(crate) async fn wait_for(store: &KubeStore, ready: impl Fn(&Snapshot) -> bool) -> Snapshot {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(snap) = store.snapshot().await {
            if snap.unknown.is_empty() && ready(&snap) {
                return snap;
            }
        }
        assert!(Instant::now() < deadline, "the store did not catch up");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Passes until one plans nothing; returns that plan and the results of the last writes.
pub(crate) async fn settle(store: &KubeStore) -> (Plan, Vec<Result<(), StoreError>>) {
    let mut results = Vec::new();
    for _ in 0..10 {
        let snap = wait_for(store, |_| true).await;
        let plan = reconcile::reconcile(&snap);
        if plan.actions.is_empty() {
            return (plan, results);
        }
        results = Vec::new();
        for a in &plan.actions {
            results.push(store.apply(a).await);
        }
    }
    panic!("propagation did not settle: {results:?}");
}

fn store(api: &FakeApi, projects: Arc<Projects>) -> KubeStore {
    KubeStore::new(api.client(), settings(), projects)
}

fn creds() -> Value {
    source_json(
        "registry-creds",
        LABEL_CLUSTER_WIDE,
        &[("token", "t1"), ("user", "u")],
    )
}

fn data_of(obj: &Value) -> BTreeMap<String, String> {
    obj["data"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

use std::collections::BTreeMap;

/// Starts with one source in the system namespace and copies in team-a and team-b.
async fn converged() -> (FakeApi, KubeStore, Arc<Projects>, Value) {
    let api = FakeApi::default();
    let src = api.put(creds());
    let projects = Projects::of(&["team-a", "team-b"]);
    let s = store(&api, projects.clone());
    settle(&s).await;
    api.forget_seen();
    (api, s, projects, src)
}

#[tokio::test]
async fn a_new_source_is_created_in_every_project_namespace_with_markers() {
    let api = FakeApi::default();
    let src = api.put(creds());
    api.put(source_json("plain", "team", &[("x", "y")])); // not labelled cluster-wide
    let s = store(&api, Projects::of(&["team-a", "team-b"]));
    let (plan, _) = settle(&s).await;
    assert_eq!(
        api.writes(),
        ["create team-a", "create team-b"],
        "{:?}",
        api.seen()
    );
    for ns in ["team-a", "team-b"] {
        let copy = api.get(ns, "registry-creds").unwrap();
        assert_eq!(data_of(&copy), data_of(&src));
        assert_eq!(copy["type"], "Opaque");
        let labels = &copy["metadata"]["labels"];
        assert_eq!(labels["app.kubernetes.io/managed-by"], "lockbox");
        assert_eq!(
            labels["lockbox.dev/propagated-from"],
            src["metadata"]["uid"]
        );
        assert!(labels.get(LABEL_CLUSTER_WIDE).is_none(), "{labels}");
        let notes = &copy["metadata"]["annotations"];
        assert_eq!(notes["lockbox.dev/source"], "lockbox/registry-creds");
        assert_eq!(notes["lockbox.dev/source-uid"], src["metadata"]["uid"]);
        assert_eq!(
            notes["lockbox.dev/source-version"],
            src["metadata"]["resourceVersion"]
        );
        assert!(api.get(ns, "plain").is_none());
    }
    assert!(plan.status.iter().all(|r| r.state == State::Synced));
    // Only the sources are watched by label; the project namespaces whole (for conflicts).
    let seen = api.seen();
    let lists: Vec<&str> = seen
        .iter()
        .filter(|r| r.verb == "list" && r.namespace == SYS)
        .map(|r| r.query.as_str())
        .collect();
    assert_eq!(lists.len(), 2, "{lists:?}");
    assert!(lists
        .iter()
        .any(|q| q.contains("lockbox.dev%2Fcluster-wide%3Dtrue")));
    assert!(lists
        .iter()
        .any(|q| q.contains("runai%2Fcluster-wide%3Dtrue")));
    // No namespace outside the system and project namespaces was asked about.
    assert!(seen
        .iter()
        .all(|r| [SYS, "team-a", "team-b"].contains(&r.namespace.as_str())));
    // Settled: another pass writes nothing.
    api.forget_seen();
    settle(&s).await;
    assert!(api.writes().is_empty(), "{:?}", api.writes());
}

#[tokio::test]
async fn a_source_update_updates_the_copies_and_drops_removed_keys() {
    let (api, s, _, mut src) = converged().await;
    src["data"] = json!({"token": b64("t2")});
    let src = api.put(src);
    let rv = src["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    wait_for(&s, |snap| snap.sources.iter().any(|x| x.version == rv)).await;
    settle(&s).await;
    assert_eq!(
        api.writes(),
        [
            "update team-a/registry-creds",
            "update team-b/registry-creds"
        ]
    );
    for ns in ["team-a", "team-b"] {
        let copy = api.get(ns, "registry-creds").unwrap();
        assert_eq!(
            data_of(&copy),
            BTreeMap::from([("token".into(), b64("t2"))])
        );
        assert_eq!(
            copy["metadata"]["annotations"]["lockbox.dev/source-version"],
            rv
        );
    }
    // The update carried the copy's resourceVersion (and uid): never a blind overwrite.
    let put = api.seen().into_iter().find(|r| r.verb == "update").unwrap();
    assert_eq!(put.namespace, "team-a");
}

#[tokio::test]
async fn a_changed_type_is_deleted_and_created_again() {
    let (api, s, _, mut src) = converged().await;
    // A Secret's type cannot change: the source is deleted and created again (a new uid).
    api.remove(SYS, "registry-creds");
    src["metadata"]["uid"] = Value::Null;
    src["type"] = json!("kubernetes.io/basic-auth");
    src["data"] = json!({"username": b64("u"), "password": b64("p")});
    let src = api.put(src);
    let uid = src["metadata"]["uid"].as_str().unwrap().to_string();
    wait_for(&s, |snap| snap.sources.iter().any(|x| x.uid == uid)).await;
    settle(&s).await;
    assert_eq!(
        api.writes(),
        [
            "delete team-a/registry-creds",
            "create team-a",
            "delete team-b/registry-creds",
            "create team-b"
        ]
    );
    let copy = api.get("team-a", "registry-creds").unwrap();
    assert_eq!(copy["type"], "kubernetes.io/basic-auth");
    assert_eq!(
        copy["metadata"]["labels"]["lockbox.dev/propagated-from"],
        uid
    );
}

#[tokio::test]
async fn a_deleted_or_unlabelled_source_has_its_copies_deleted() {
    let (api, s, _, mut src) = converged().await;
    src["metadata"]["labels"] = json!({"team": "x"});
    api.put(src);
    wait_for(&s, |snap| snap.sources.is_empty()).await;
    settle(&s).await;
    assert_eq!(
        api.writes(),
        [
            "delete team-a/registry-creds",
            "delete team-b/registry-creds"
        ]
    );
    assert!(api.get("team-a", "registry-creds").is_none());
    // The delete carried preconditions.
    let (api, s, _, _) = converged().await;
    api.remove(SYS, "registry-creds");
    wait_for(&s, |snap| snap.sources.is_empty()).await;
    settle(&s).await;
    assert_eq!(
        api.writes(),
        [
            "delete team-a/registry-creds",
            "delete team-b/registry-creds"
        ]
    );
}

#[tokio::test]
async fn a_new_project_namespace_gets_its_copy_and_a_removed_one_loses_it() {
    let (api, s, projects, _) = converged().await;
    projects.add("team-c");
    settle(&s).await;
    assert_eq!(api.writes(), ["create team-c"]);
    assert!(api.get("team-c", "registry-creds").is_some());
    api.forget_seen();
    // A project removed (its namespace adopted, so still there): its copy goes, then the
    // namespace is no longer watched.
    projects.remove("team-c");
    settle(&s).await;
    assert_eq!(api.writes(), ["delete team-c/registry-creds"]);
    assert!(api.get("team-c", "registry-creds").is_none());
    wait_for(&s, |_| s.tasks().namespaces.len() == 2).await;
}

#[tokio::test]
async fn an_unmanaged_secret_of_the_same_name_is_a_conflict_with_no_write() {
    let api = FakeApi::default();
    api.put(creds());
    let theirs = api.put(
        json!({"metadata": {"name": "registry-creds", "namespace": "team-a",
        "labels": {"app.kubernetes.io/managed-by": "lockbox"}}, "data": {"token": b64("theirs")}}),
    );
    let s = store(&api, Projects::of(&["team-a", "team-b"]));
    let (plan, _) = settle(&s).await;
    assert_eq!(api.writes(), ["create team-b"]);
    assert_eq!(api.get("team-a", "registry-creds").unwrap(), theirs);
    let row = plan
        .status
        .iter()
        .find(|r| r.namespace == "team-a")
        .unwrap();
    assert_eq!(row.state, State::Conflict);
    // Nor is it deleted when the source goes.
    api.forget_seen();
    api.remove(SYS, "registry-creds");
    wait_for(&s, |snap| snap.sources.is_empty()).await;
    settle(&s).await;
    assert_eq!(api.writes(), ["delete team-b/registry-creds"]);
    assert_eq!(api.get("team-a", "registry-creds").unwrap(), theirs);
}

/// A Secret that appears between the snapshot and the create: the create fails with 409 and
/// nothing is overwritten; the next pass sees the conflict.
#[tokio::test]
async fn a_secret_appearing_before_the_create_is_not_overwritten() {
    let api = FakeApi::default();
    api.put(creds());
    let s = store(&api, Projects::of(&["team-a"]));
    let snap = wait_for(&s, |_| true).await;
    let plan = reconcile::reconcile(&snap);
    let theirs = api.put(
        json!({"metadata": {"name": "registry-creds", "namespace": "team-a"},
        "data": {"token": b64("theirs")}}),
    );
    let result = s.apply(&plan.actions[0]).await;
    assert!(matches!(result, Err(StoreError::Conflict(_))), "{result:?}");
    assert_eq!(api.get("team-a", "registry-creds").unwrap(), theirs);
}

#[tokio::test]
async fn an_edited_copy_is_reverted_and_a_deleted_one_created_again() {
    let (api, s, _, src) = converged().await;
    let mut copy = api.get("team-a", "registry-creds").unwrap();
    copy["data"]["token"] = json!(b64("hacked"));
    copy["data"]["extra"] = json!(b64("x"));
    let edited = api.put(copy);
    let rv = edited["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    wait_for(&s, |snap| snap.existing.iter().any(|e| e.version == rv)).await;
    api.remove("team-b", "registry-creds");
    wait_for(&s, |snap| {
        !snap
            .existing
            .iter()
            .any(|e| e.namespace == "team-b" && e.name == "registry-creds")
    })
    .await;
    settle(&s).await;
    assert_eq!(
        api.writes(),
        ["update team-a/registry-creds", "create team-b"]
    );
    for ns in ["team-a", "team-b"] {
        assert_eq!(
            data_of(&api.get(ns, "registry-creds").unwrap()),
            data_of(&src)
        );
    }
}

#[tokio::test]
async fn a_failing_watch_is_reported_resumed_and_catches_up() {
    let (api, s, _, mut src) = converged().await;
    // Every watch ends (an API server restart) and the next attempts fail.
    api.fail_next("watch", 6, 500);
    api.end_watches();
    src["data"] = json!({"token": b64("t3")});
    let src = api.put(src);
    let rv = src["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    // The failure shows while it lasts.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut reported = false;
    while Instant::now() < deadline && !reported {
        reported = s.trouble().is_some_and(|t| t.contains("500"));
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert!(reported, "the failing watch was not reported");
    // Resumed from where it was: the change made meanwhile arrives, and is propagated.
    wait_for(&s, |snap| snap.sources.iter().any(|x| x.version == rv)).await;
    settle(&s).await;
    assert!(api
        .writes()
        .contains(&"update team-a/registry-creds".to_string()));
    let seen = api.seen();
    let watches = seen.iter().filter(|r| r.verb == "watch").count();
    assert!(watches >= 3 + 6, "{watches} watches: {seen:?}");
    // A resumed watch starts from the resourceVersion it had, without listing again.
    let relists = seen.iter().filter(|r| r.verb == "list").count();
    assert_eq!(relists, 0, "{seen:?}");
    let deadline = Instant::now() + Duration::from_secs(5);
    while s.trouble().is_some() {
        assert!(Instant::now() < deadline, "the trouble was not cleared");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn a_resync_lists_again_without_forgetting_and_writes_nothing_new() {
    let (api, s, _, _) = converged().await;
    s.resync().await;
    // Until the new lists complete, the views keep what they had: no unknown namespaces.
    let snap = s.snapshot().await.unwrap();
    assert!(snap.unknown.is_empty());
    assert_eq!(snap.sources.len(), 1);
    wait_for(&s, |_| {
        api.seen().iter().filter(|r| r.verb == "list").count() == 4
    })
    .await;
    settle(&s).await;
    assert!(api.writes().is_empty(), "{:?}", api.writes());
}

#[tokio::test]
async fn runai_labelled_sources_and_tokens() {
    let api = FakeApi::default();
    api.put(source_json(
        "from-runai",
        LABEL_RUNAI_CLUSTER_WIDE,
        &[("k", "v")],
    ));
    let mut token = source_json("builder-token", LABEL_CLUSTER_WIDE, &[("token", "jwt")]);
    token["type"] = json!(reconcile::SERVICE_ACCOUNT_TOKEN);
    api.put(token);
    let s = store(&api, Projects::of(&["team-a"]));
    let (plan, _) = settle(&s).await;
    assert_eq!(api.writes(), ["create team-a"]);
    assert!(api.get("team-a", "from-runai").is_some());
    assert!(api.get("team-a", "builder-token").is_none());
    let skipped = plan
        .status
        .iter()
        .find(|r| r.source.ends_with("builder-token"))
        .unwrap();
    assert_eq!(skipped.state, State::Skipped);
}

#[test]
fn copies_carry_only_data_type_and_markers() {
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "registry-creds", "namespace": SYS, "uid": "u1",
                     "resourceVersion": "42",
                     "labels": {LABEL_CLUSTER_WIDE: "true", "team": "platform"},
                     "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"},
                     "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap",
                                          "name": "x", "uid": "o"}]},
        "type": "kubernetes.io/tls", "immutable": true,
        "data": {"tls.crt": b64("c"), "tls.key": b64("k")}
    }))
    .unwrap();
    let (_, h) = held(secret.clone()).unwrap();
    let copy = copy_of(&secret, &h.source, "team-a");
    let v = serde_json::to_value(&copy).unwrap();
    assert_eq!(v["metadata"]["namespace"], "team-a");
    assert_eq!(v["metadata"]["name"], "registry-creds");
    assert!(v["metadata"].get("ownerReferences").is_none());
    assert!(v["metadata"].get("uid").is_none());
    assert_eq!(
        v["metadata"]["labels"],
        json!({"app.kubernetes.io/managed-by": "lockbox", "lockbox.dev/propagated-from": "u1"})
    );
    assert_eq!(
        v["metadata"]["annotations"],
        json!({"lockbox.dev/source": "lockbox/registry-creds", "lockbox.dev/source-uid": "u1",
               "lockbox.dev/source-version": "42"})
    );
    assert_eq!(v["type"], "kubernetes.io/tls");
    assert_eq!(v["immutable"], true);
    assert_eq!(v["data"]["tls.key"], b64("k"));
}

/// A migrated SQLite database in a temporary directory.
pub(crate) async fn sqlite() -> (crate::server::db::Db, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().display().to_string();
    let config =
        crate::server::config::Env(move |k: &str| (k == "LOCKBOX_DATA_DIR").then(|| path.clone()))
            .config()
            .unwrap();
    let db = crate::server::db::Db::connect(&config).await.unwrap();
    db.migrate().await.unwrap();
    (db, dir)
}

fn fast_options() -> crate::server::propagation::controller::Options {
    crate::server::propagation::controller::Options {
        poll: Duration::from_millis(100),
        debounce: Duration::from_millis(5),
        heartbeat: Duration::from_millis(50),
        stall_after: Duration::from_millis(300),
        ..crate::server::propagation::controller::Options::new(Duration::from_secs(300))
    }
}

async fn eventually(what: &str, mut ok: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ok().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The controller on the Kubernetes store: copies follow, status rows are recorded (synced,
/// conflict), only the leader writes, and a stall is reported in the heartbeat.
#[tokio::test]
async fn the_controller_records_status_leads_alone_and_reports_a_stall() {
    use crate::server::propagation::{controller, status};
    let (db, _dir) = sqlite().await;
    let api = FakeApi::default();
    let src = api.put(creds());
    api.put(
        json!({"metadata": {"name": "registry-creds", "namespace": "team-b"},
        "data": {"token": b64("theirs")}}),
    );
    let projects = Projects::of(&["team-a", "team-b"]);
    let (lead, leader) = tokio::sync::watch::channel(false);
    let (client, p) = (api.client(), projects.clone());
    let make = move || -> Arc<dyn Store> {
        Arc::new(KubeStore::new(client.clone(), settings(), p.clone()))
    };
    let handle = controller::spawn_with(make, db.clone(), fast_options(), leader);
    // Not the leader: nothing is read or written.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(api.seen().is_empty(), "{:?}", api.seen());
    assert!(!handle.leads());
    lead.send_replace(true);
    eventually("the copy and its status", async || {
        let rows = status::list(&db).await.unwrap();
        rows.len() == 2 && rows.iter().any(|r| r.state == "synced")
    })
    .await;
    assert_eq!(api.writes(), ["create team-a"]);
    let rows = status::list(&db).await.unwrap();
    let a = rows.iter().find(|r| r.namespace == "team-a").unwrap();
    assert_eq!(a.store, "kubernetes");
    assert_eq!(a.source, "lockbox/registry-creds");
    assert_eq!(a.source_uid, src["metadata"]["uid"].as_str().unwrap());
    assert_eq!(
        a.synced_version.as_deref(),
        src["metadata"]["resourceVersion"].as_str()
    );
    assert!(a.synced_at.is_some());
    let b = rows.iter().find(|r| r.namespace == "team-b").unwrap();
    assert_eq!(b.state, "conflict");
    assert!(b.detail.as_deref().unwrap().contains("did not create"));
    let table = status::table(&rows);
    assert!(
        table.contains("conflict") && table.contains("team-a"),
        "{table}"
    );
    // A project created later gets its copy within a poke.
    projects.add("team-c");
    handle.projects_changed();
    eventually("the new namespace's copy", async || {
        api.get("team-c", "registry-creds").is_some()
    })
    .await;
    // The heartbeat says the controller runs.
    eventually("a heartbeat", async || {
        let c = status::controllers(&db, crate::server::db::now_ms())
            .await
            .unwrap();
        c.len() == 1 && c[0].passes > 0 && !c[0].stalled
    })
    .await;
    // Every watch fails from now on: reported as a stall once it lasts.
    api.fail_next("watch", usize::MAX, 500);
    api.fail_next("list", usize::MAX, 500);
    api.end_watches();
    eventually("a stall", async || {
        let c = status::controllers(&db, crate::server::db::now_ms())
            .await
            .unwrap();
        c[0].stalled
            && c[0]
                .detail
                .as_deref()
                .unwrap_or_default()
                .contains("watching")
    })
    .await;
    // Another replica takes over: this one stops watching and writing.
    api.fail_next("watch", 0, 500);
    api.fail_next("list", 0, 500);
    lead.send_replace(false);
    eventually("the watches to close", async || {
        !handle.leads() && api.open_watches() == 0
    })
    .await;
    api.forget_seen();
    api.remove("team-a", "registry-creds");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(api.seen().is_empty(), "{:?}", api.seen());
}

/// The requests of the propagation flows (new source, update, delete, new namespace,
/// conflict, failed and resumed watch), for the RBAC test: every verb Lockbox uses on Secrets
/// must be granted, and every verb granted used. (The Lease verbs are kube-lease-manager's:
/// get, create and patch on leases in the system namespace.)
pub(crate) async fn recorded_requests() -> Vec<crate::server::propagation::fake_api::Seen> {
    let api = FakeApi::default();
    let src = api.put(creds());
    api.put(
        json!({"metadata": {"name": "registry-creds", "namespace": "team-b"},
        "data": {"token": b64("theirs")}}),
    );
    let projects = Projects::of(&["team-a", "team-b"]);
    let s = store(&api, projects.clone());
    settle(&s).await;
    let mut changed = src.clone();
    changed["data"] = json!({"token": b64("t2")});
    let changed = api.put(changed);
    let rv = changed["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    wait_for(&s, |snap| snap.sources.iter().any(|x| x.version == rv)).await;
    settle(&s).await;
    projects.add("team-c");
    settle(&s).await;
    api.fail_next("watch", 1, 500);
    api.end_watches();
    api.remove(SYS, "registry-creds");
    wait_for(&s, |snap| snap.sources.is_empty()).await;
    settle(&s).await;
    api.seen()
}

#[tokio::test]
async fn the_recorded_flows_use_these_verbs() {
    let seen = recorded_requests().await;
    let verbs: BTreeSet<(String, String, bool)> = seen
        .iter()
        .map(|r| (r.verb.clone(), r.resource.clone(), r.namespace == SYS))
        .collect();
    let expected: BTreeSet<(String, String, bool)> = [
        ("list", true),
        ("watch", true),
        ("list", false),
        ("watch", false),
        ("create", false),
        ("update", false),
        ("delete", false),
    ]
    .into_iter()
    .map(|(v, sys)| (v.to_string(), "secrets".to_string(), sys))
    .collect();
    assert_eq!(verbs, expected);
}
