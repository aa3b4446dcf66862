//! Session status by watch, against a tower_test mock API server that keeps Pods, answers a
//! list, and streams watch events as the test changes them: what the watch asks for (LIST and
//! WATCH by this installation's label), that `status` answers from the store without a
//! request, that a Pod the store lacks is asked for once, and that a Pod that ends is recorded
//! in the database and its objects deleted without anyone listing sessions.

use super::*;
use crate::{
    model::session::SessionStatus,
    server::{db, kube::manifests::LABEL_SESSION, sessions::follow},
};
use bytes::Bytes;
use std::{
    collections::BTreeMap,
    convert::Infallible,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};
use tokio::sync::mpsc;

/// A response body that stays open while its sender lives (a watch).
struct Streamed(mpsc::UnboundedReceiver<Bytes>);

impl http_body::Body for Streamed {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        self.0
            .poll_recv(cx)
            .map(|b| b.map(|b| Ok(http_body::Frame::data(b))))
    }
}

#[derive(Default)]
struct State {
    rv: u64,
    pods: BTreeMap<String, Value>,
    watches: Vec<mpsc::UnboundedSender<Bytes>>,
    seen: Vec<String>,
    /// Lists still to fail with a 500.
    failing_lists: usize,
}

/// The mock API server of Pods in `team-a`.
#[derive(Clone, Default)]
struct PodApi(Arc<Mutex<State>>);

fn line(v: &Value) -> Bytes {
    let mut b = serde_json::to_vec(v).unwrap();
    b.push(b'\n');
    Bytes::from(b)
}

fn once(code: u16, v: &Value) -> http::Response<Streamed> {
    let (tx, rx) = mpsc::unbounded_channel();
    tx.send(Bytes::from(serde_json::to_vec(v).unwrap()))
        .unwrap();
    http::Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Streamed(rx))
        .unwrap()
}

fn failure(code: u16, reason: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": reason, "reason": reason, "code": code})
}

impl PodApi {
    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.0.lock().unwrap())
    }

    /// A client of this server (tower_test: each request handled as it arrives).
    fn client(&self) -> ::kube::Client {
        type H = tower_test::mock::Handle<http::Request<Body>, http::Response<Streamed>>;
        let (service, mut handle): (_, H) = tower_test::mock::pair();
        let api = self.clone();
        tokio::spawn(async move {
            while let Some((request, send)) = handle.next_request().await {
                send.send_response(api.answer(request));
            }
        });
        ::kube::Client::new(service, "default")
    }

    fn answer(&self, request: http::Request<Body>) -> http::Response<Streamed> {
        let path = request.uri().path().to_string();
        let query = request.uri().query().unwrap_or_default().to_string();
        let method = request.method().to_string();
        self.with(|s| {
            s.seen.push(format!("{method} {path}?{query}"));
            let name = path.strip_prefix(&format!("{PODS}/"));
            match (method.as_str(), path.as_str(), name) {
                ("GET", PODS, _) if query.contains("watch=true") => {
                    let (tx, rx) = mpsc::unbounded_channel();
                    s.watches.push(tx);
                    http::Response::builder()
                        .status(200)
                        .header("content-type", "application/json")
                        .body(Streamed(rx))
                        .unwrap()
                }
                ("GET", PODS, _) if s.failing_lists > 0 => {
                    s.failing_lists -= 1;
                    once(500, &failure(500, "InternalError"))
                }
                ("GET", PODS, _) => once(
                    200,
                    &json!({"kind": "PodList", "apiVersion": "v1",
                            "metadata": {"resourceVersion": s.rv.to_string()},
                            "items": s.pods.values().collect::<Vec<_>>()}),
                ),
                ("GET", _, Some(name)) => match s.pods.get(name) {
                    Some(p) => once(200, p),
                    None => once(404, &failure(404, "NotFound")),
                },
                ("DELETE", _, Some(name)) => match s.pods.remove(name) {
                    Some(p) => once(200, &s.send("DELETED", p)),
                    None => once(404, &failure(404, "NotFound")),
                },
                ("DELETE", _, _) => once(200, &json!({"kind": "Status", "status": "Success"})),
                _ => once(500, &failure(500, "InternalError")),
            }
        })
    }

    /// Creates or changes a Pod as the kubelet would, told to every open watch.
    fn put(&self, session: &str, phase: Value) {
        self.with(|s| {
            let name = crate::server::kube::manifests::object_name(session);
            let pod = json!({"kind": "Pod", "apiVersion": "v1",
                "metadata": {"name": name, "namespace": fixtures::NS, "uid": format!("uid-{name}"),
                             "labels": {LABEL_SESSION: session,
                                        "lockbox.dev/installation": INSTALLATION}},
                "spec": {"containers": [{"name": "session", "image": "i"}]},
                "status": phase});
            let kind = if s.pods.contains_key(&name) {
                "MODIFIED"
            } else {
                "ADDED"
            };
            let pod = s.send(kind, pod);
            s.pods.insert(name, pod);
        })
    }

    /// Deletes a Pod as another client would (kubectl).
    fn remove(&self, session: &str) {
        let name = crate::server::kube::manifests::object_name(session);
        self.with(|s| {
            if let Some(p) = s.pods.remove(&name) {
                s.send("DELETED", p);
            }
        })
    }

    fn seen(&self) -> Vec<String> {
        self.with(|s| s.seen.clone())
    }

    fn open_watches(&self) -> usize {
        self.with(|s| {
            s.watches.retain(|w| !w.is_closed());
            s.watches.len()
        })
    }
}

impl State {
    /// Gives `pod` the next resourceVersion and tells every open watch; returns it.
    fn send(&mut self, kind: &str, mut pod: Value) -> Value {
        self.rv += 1;
        pod["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        let event = line(&json!({"type": kind, "object": pod}));
        self.watches.retain(|w| w.send(event.clone()).is_ok());
        pod
    }
}

fn running() -> Value {
    json!({"phase": "Running"})
}

async fn eventually(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !ok() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// This installation's session Pods, as the selector in a query spells them.
fn selector_query() -> String {
    format!("labelSelector=lockbox.dev%2Fsession%2Clockbox.dev%2Finstallation%3D{INSTALLATION}")
}

/// A backend following `team-a` on `api`, its store listed and its watch open.
async fn following(api: &PodApi) -> (KubeBackend, mpsc::UnboundedReceiver<String>) {
    let b = KubeBackend::new(api.client(), INSTALLATION.into());
    let ended = b.follow().expect("the first follow starts the watch");
    assert!(b.follow().is_none(), "a second follow starts nothing");
    b.follow_namespaces(&[fixtures::NS.into()]);
    eventually("the watch to open", || api.open_watches() == 1).await;
    (b, ended)
}

#[tokio::test]
async fn the_watch_lists_then_watches_this_installations_session_pods_by_label() {
    let api = PodApi::default();
    api.put(fixtures::SESSION, running());
    let (_b, _ended) = following(&api).await;
    let seen = api.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    let (list, watch) = (&seen[0], &seen[1]);
    assert!(list.starts_with(&format!("GET {PODS}?")), "{list}");
    assert!(list.contains(&selector_query()), "{list}");
    assert!(!list.contains("watch=true"), "{list}");
    assert!(watch.starts_with(&format!("GET {PODS}?")), "{watch}");
    assert!(watch.contains("watch=true"), "{watch}");
    assert!(watch.contains(&selector_query()), "{watch}");
    // From the list's version on: nothing between list and watch is missed.
    assert!(watch.contains("resourceVersion=1"), "{watch}");
}

/// In steady state `status` reads the store: no request at all, whatever the Pod does.
#[tokio::test]
async fn status_answers_from_the_store_without_a_request() {
    let api = PodApi::default();
    api.put(fixtures::SESSION, running());
    let (b, _ended) = following(&api).await;
    let before = api.seen().len();
    for _ in 0..5 {
        assert_eq!(b.status(&session()).await.unwrap(), Observed::Running);
    }
    api.put(
        fixtures::SESSION,
        json!({"phase": "Pending", "containerStatuses": [{"name": "session", "image": "i",
              "imageID": "", "ready": false, "restartCount": 0,
              "state": {"waiting": {"reason": "ImagePullBackOff", "message": "m"}}}]}),
    );
    let mut observed = Observed::Running;
    for _ in 0..500 {
        observed = b.status(&session()).await.unwrap();
        if observed != Observed::Running {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        observed,
        Observed::Failed("ImagePullBackOff: the image could not be pulled".into())
    );
    assert_eq!(api.seen().len(), before, "{:?}", &api.seen()[before..]);
}

/// A Pod the store does not hold (created a moment ago, not shown by the watch yet; or in a
/// namespace not followed) is asked for with one GET, and not taken for an ended session.
#[tokio::test]
async fn a_pod_the_store_lacks_is_asked_for_once() {
    let api = PodApi::default();
    let (b, _ended) = following(&api).await;
    // Created behind the watch's back: the store cannot have it yet.
    api.with(|s| {
        let mut pod = json!({"kind": "Pod", "apiVersion": "v1",
            "metadata": {"name": fixtures::NAME, "namespace": fixtures::NS,
                         "labels": {LABEL_SESSION: fixtures::SESSION}},
            "status": {"phase": "Pending"}});
        pod["metadata"]["resourceVersion"] = json!("50");
        s.pods.insert(fixtures::NAME.into(), pod);
    });
    let before = api.seen().len();
    assert_eq!(b.status(&session()).await.unwrap(), Observed::Starting);
    assert_eq!(
        api.seen()[before..],
        [format!("GET {}?", at(PODS))],
        "one GET, no delete"
    );
    // A namespace the backend does not follow: asked for too.
    let mut elsewhere = session();
    elsewhere.namespace = "team-b".into();
    let before = api.seen().len();
    let _ = b.status(&elsewhere).await;
    let asked = &api.seen()[before..];
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert!(asked[0].starts_with("GET /api/v1/namespaces/team-b/pods/"));
}

/// Before the first list completes (the API server refuses it), nothing is taken from the empty
/// store; the watch recovers by itself with backoff and then serves status from memory.
#[tokio::test]
async fn the_watch_recovers_from_a_failed_list() {
    let api = PodApi::default();
    api.put(fixtures::SESSION, running());
    api.with(|s| s.failing_lists = 1);
    let b = KubeBackend::new(api.client(), INSTALLATION.into());
    let _ended = b.follow().unwrap();
    b.follow_namespaces(&[fixtures::NS.into()]);
    eventually("the first list", || !api.seen().is_empty()).await;
    // Not listed yet: asked for, and found running (not taken for ended).
    assert_eq!(b.status(&session()).await.unwrap(), Observed::Running);
    eventually("the watch to open after the backoff", || {
        api.open_watches() == 1
    })
    .await;
    let lists = api
        .seen()
        .iter()
        .filter(|l| l.starts_with(&format!("GET {PODS}?")) && !l.contains("watch=true"))
        .count();
    assert_eq!(lists, 2, "{:?}", api.seen());
    let before = api.seen().len();
    assert_eq!(b.status(&session()).await.unwrap(), Observed::Running);
    assert_eq!(api.seen().len(), before);
}

/// A Pod that fails is reported on the channel at once; its status comes from the store, and
/// its objects are deleted.
#[tokio::test]
async fn a_pod_that_fails_is_reported_and_its_objects_deleted() {
    let api = PodApi::default();
    api.put(fixtures::SESSION, running());
    let (b, mut ended) = following(&api).await;
    api.put(fixtures::SESSION, terminated("Failed", 3, "Error"));
    let id = tokio::time::timeout(Duration::from_secs(5), ended.recv())
        .await
        .expect("reported within seconds")
        .unwrap();
    assert_eq!(id, fixtures::SESSION);
    let before = api.seen().len();
    assert_eq!(
        b.status(&session()).await.unwrap(),
        Observed::Failed("exit code 3 (Error)".into())
    );
    let deletes: Vec<String> = api.seen()[before..]
        .iter()
        .map(|l| l.split('?').next().unwrap().to_string())
        .collect();
    assert_eq!(
        deletes,
        [
            format!("DELETE {}", at(SECRETS)),
            format!("DELETE {}", at(PODS)),
            format!("DELETE {}", at(SERVICES)),
        ]
    );
}

/// A user with a running Kubernetes session in `team-a`, recorded as the launch records it.
async fn running_session(db: &db::Db) {
    add_user(db).await;
    add_running_session(db, fixtures::SESSION).await;
}

async fn add_user(db: &db::Db) {
    db::users::insert(
        db,
        &db::users::NewUser {
            id: fixtures::USER,
            username: "alice",
            username_key: "alice",
            password_hash: "x",
            dek_wrapped: b"x",
            dek_key_id: "k",
            created_at: 0,
        },
        false,
    )
    .await
    .unwrap();
}

/// A running session `id` of that user in `team-a`, as the launch records it.
async fn add_running_session(db: &db::Db, id: &str) {
    let recorded = db::sessions::insert(
        db,
        &db::sessions::NewSession {
            id,
            user_id: fixtures::USER,
            environment: "demo",
            project: crate::model::projects::DEFAULT_PROJECT,
            backend: "kubernetes",
            namespace: fixtures::NS,
            mount_dir: "/secrets",
            injections: &[],
            now: db::now_ms(),
        },
    )
    .await
    .unwrap();
    assert!(recorded);
    db::sessions::started(db, fixtures::USER, id, None, &[], &[])
        .await
        .unwrap();
}

async fn status_in_db(db: &db::Db) -> (SessionStatus, Option<String>) {
    let s = db::sessions::get(db, fixtures::USER, fixtures::SESSION)
        .await
        .unwrap()
        .unwrap();
    (s.info.status, s.info.status_detail)
}

/// The whole path as `serve` runs it: the sessions service's task follows the project
/// namespaces (from the database), and a Pod deleted behind Lockbox's back is recorded as a
/// stopped session and its Secret and Service deleted, with no one listing sessions and no GET.
#[tokio::test]
async fn a_deleted_pod_is_recorded_as_stopped_and_its_objects_deleted() {
    let (db, _dir) = crate::server::propagation::kube_store::tests::sqlite().await;
    running_session(&db).await;
    let api = PodApi::default();
    api.put(fixtures::SESSION, running());
    let backend: Arc<dyn SessionBackend> =
        Arc::new(KubeBackend::new(api.client(), INSTALLATION.into()));
    assert!(follow::spawn(
        db.clone(),
        backend.clone(),
        fixtures::NS.into()
    ));
    eventually("the watch to open", || api.open_watches() == 1).await;
    let before = api.seen().len();
    api.remove(fixtures::SESSION);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while status_in_db(&db).await.0 != SessionStatus::Stopped {
        assert!(tokio::time::Instant::now() < deadline, "not recorded");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        status_in_db(&db).await.1.as_deref(),
        Some("pod no longer exists")
    );
    eventually("the deletes", || api.seen().len() >= before + 3).await;
    let asked: Vec<String> = api.seen()[before..]
        .iter()
        .map(|l| l.split('?').next().unwrap().to_string())
        .collect();
    assert_eq!(
        asked,
        [
            format!("DELETE {}", at(SECRETS)),
            format!("DELETE {}", at(PODS)),
            format!("DELETE {}", at(SERVICES)),
        ]
    );
}

/// A Pod that fails is recorded as a failed session with its reason, likewise.
#[tokio::test]
async fn a_failed_pod_is_recorded_as_failed() {
    let (db, _dir) = crate::server::propagation::kube_store::tests::sqlite().await;
    running_session(&db).await;
    let api = PodApi::default();
    api.put(fixtures::SESSION, running());
    let backend: Arc<dyn SessionBackend> =
        Arc::new(KubeBackend::new(api.client(), INSTALLATION.into()));
    assert!(follow::spawn(
        db.clone(),
        backend.clone(),
        fixtures::NS.into()
    ));
    eventually("the watch to open", || api.open_watches() == 1).await;
    api.put(fixtures::SESSION, terminated("Failed", 137, "OOMKilled"));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while status_in_db(&db).await.0 != SessionStatus::Failed {
        assert!(tokio::time::Instant::now() < deadline, "not recorded");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        status_in_db(&db).await.1.as_deref(),
        Some("exit code 137 (OOMKilled)")
    );
    eventually("the Pod deleted", || {
        api.seen()
            .iter()
            .any(|l| l.starts_with(&format!("DELETE {}", at(PODS))))
    })
    .await;
}

/// The sessions list with 50 live sessions whose Pods the watch shows running (issue 11: "0
/// API requests per view"): reading each one's status the way the list does makes no request.
#[tokio::test]
async fn listing_fifty_watched_sessions_asks_the_api_server_nothing() {
    const LIVE: usize = 50;
    let (db, _dir) = crate::server::propagation::kube_store::tests::sqlite().await;
    add_user(&db).await;
    let api = PodApi::default();
    for _ in 0..LIVE {
        let id = uuid::Uuid::new_v4().to_string();
        add_running_session(&db, &id).await;
        api.put(&id, running());
    }
    let (b, _ended) = following(&api).await;
    let before = api.seen().len();
    for view in 0..3 {
        // What `sessions::service::list` does for each view.
        let mut listed = db::sessions::list(&db, fixtures::USER).await.unwrap();
        assert_eq!(listed.len(), LIVE);
        for s in &mut listed {
            crate::server::sessions::service::refresh_on(&db, &b, s)
                .await
                .unwrap();
            assert_eq!(s.info.status, SessionStatus::Running, "view {view}");
        }
    }
    let asked = &api.seen()[before..];
    assert!(asked.is_empty(), "{} requests: {asked:?}", asked.len());
}
