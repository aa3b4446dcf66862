//! A recording fake of the Kubernetes API for Secrets, for the propagation tests and the
//! benchmark: list (with label selectors), watch (events streamed as they happen, replayed
//! from a resourceVersion, selector transitions as ADDED/DELETED), get, create (409
//! AlreadyExists), update (409 Conflict on a stale resourceVersion or another uid) and delete
//! (404, preconditions → 409), like the API server. Every request is recorded; failures can be
//! injected per verb; open watches can be ended; each request can be delayed.

use ::kube::client::Body;
use bytes::Bytes;
use serde_json::{json, Value};
use std::{
    collections::{BTreeMap, HashMap},
    convert::Infallible,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::Duration,
};
use tokio::sync::mpsc;

/// One request as the API server saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    /// `list`, `watch`, `get`, `create`, `update`, `patch` or `delete` (the RBAC verb).
    pub verb: String,
    /// `secrets` (the RBAC resource).
    pub resource: String,
    pub namespace: String,
    /// The object's name, for requests on one object.
    pub name: Option<String>,
    pub query: String,
}

impl Seen {
    pub fn line(&self) -> String {
        match &self.name {
            Some(n) => format!("{} {}/{}", self.verb, self.namespace, n),
            None => format!("{} {}", self.verb, self.namespace),
        }
    }
}

struct Change {
    rv: u64,
    ns: String,
    old: Option<Value>,
    new: Option<Value>,
}

struct Watch {
    ns: String,
    selector: String,
    tx: mpsc::UnboundedSender<Bytes>,
}

#[derive(Default)]
struct State {
    rv: u64,
    uids: u64,
    objects: BTreeMap<(String, String), Value>,
    log: Vec<Change>,
    watches: Vec<Watch>,
    seen: Vec<Seen>,
    /// verb → (failures still to inject, HTTP code).
    faults: HashMap<String, (usize, u16)>,
}

#[derive(Clone, Default)]
pub struct FakeApi {
    state: Arc<Mutex<State>>,
    delay: Duration,
}

/// A response body the fake can keep open (a watch) or send at once.
pub struct FakeBody(mpsc::UnboundedReceiver<Bytes>);

impl http_body::Body for FakeBody {
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

fn reply(code: u16, body: &Value) -> http::Response<FakeBody> {
    let (tx, rx) = mpsc::unbounded_channel();
    let _ = tx.send(Bytes::from(serde_json::to_vec(body).unwrap()));
    http::Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(FakeBody(rx))
        .unwrap()
}

fn status(code: u16, reason: &str, message: &str) -> http::Response<FakeBody> {
    reply(
        code,
        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": message, "reason": reason, "code": code}),
    )
}

/// Whether labels match a selector of `k=v`, `k==v`, `k!=v`, `k` and `!k` terms.
fn matches(selector: &str, obj: &Value) -> bool {
    let labels = &obj["metadata"]["labels"];
    let get = |k: &str| labels.get(k).and_then(Value::as_str);
    selector.split(',').filter(|t| !t.is_empty()).all(|term| {
        if let Some((k, v)) = term.split_once("!=") {
            get(k) != Some(v)
        } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
            get(k) == Some(v)
        } else if let Some(k) = term.strip_prefix('!') {
            get(k).is_none()
        } else {
            get(term).is_some()
        }
    })
}

/// The event a watch with `selector` sees for a change, if any.
fn event(selector: &str, c: &Change) -> Option<Value> {
    let was = c.old.as_ref().is_some_and(|o| matches(selector, o));
    let is = c.new.as_ref().is_some_and(|n| matches(selector, n));
    let (kind, obj) = match (was, is) {
        (false, true) => ("ADDED", c.new.clone()?),
        (true, true) => ("MODIFIED", c.new.clone()?),
        (true, false) => {
            let mut o = c.new.clone().or_else(|| c.old.clone())?;
            o["metadata"]["resourceVersion"] = json!(c.rv.to_string());
            ("DELETED", o)
        }
        (false, false) => return None,
    };
    Some(json!({"type": kind, "object": obj}))
}

fn line(v: &Value) -> Bytes {
    let mut b = serde_json::to_vec(v).unwrap();
    b.push(b'\n');
    Bytes::from(b)
}

fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| {
            // Selectors are percent-encoded; these are the characters they use.
            v.replace("%2F", "/")
                .replace("%3D", "=")
                .replace("%2C", ",")
                .replace("%21", "!")
        })
    })
}

impl FakeApi {
    /// A fake that waits `delay` before answering each request.
    pub fn with_delay(delay: Duration) -> Self {
        Self {
            delay,
            ..Self::default()
        }
    }

    /// A kube client talking to this fake.
    pub fn client(&self) -> ::kube::Client {
        let api = self.clone();
        let service = tower::service_fn(move |req: http::Request<Body>| {
            let api = api.clone();
            async move { Ok::<_, Infallible>(api.handle(req).await) }
        });
        ::kube::Client::new(service, "default")
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap())
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.with(|s| s.seen.clone())
    }

    /// Requests so far other than list and watch, as `verb namespace/name` lines.
    pub fn writes(&self) -> Vec<String> {
        self.seen()
            .iter()
            .filter(|s| !matches!(s.verb.as_str(), "list" | "watch"))
            .map(Seen::line)
            .collect()
    }

    pub fn forget_seen(&self) {
        self.with(|s| s.seen.clear());
    }

    /// The next `n` requests with this verb fail with `code`.
    pub fn fail_next(&self, verb: &str, n: usize, code: u16) {
        self.with(|s| s.faults.insert(verb.to_string(), (n, code)));
    }

    /// Ends every open watch (as an API server does at its timeout or on restart).
    pub fn end_watches(&self) {
        self.with(|s| s.watches.clear());
    }

    /// How many watches are open.
    pub fn open_watches(&self) -> usize {
        self.with(|s| {
            s.watches.retain(|w| !w.tx.is_closed());
            s.watches.len()
        })
    }

    /// The object stored under `ns/name`.
    pub fn get(&self, ns: &str, name: &str) -> Option<Value> {
        self.with(|s| s.objects.get(&(ns.into(), name.into())).cloned())
    }

    /// Creates or overwrites an object as another client would (kubectl), bypassing checks.
    pub fn put(&self, mut obj: Value) -> Value {
        self.with(|s| {
            let ns = obj["metadata"]["namespace"].as_str().unwrap().to_string();
            let name = obj["metadata"]["name"].as_str().unwrap().to_string();
            let key = (ns.clone(), name);
            let old = s.objects.get(&key).cloned();
            if obj["metadata"]["uid"].is_null() {
                obj["metadata"]["uid"] = match &old {
                    Some(o) => o["metadata"]["uid"].clone(),
                    None => {
                        s.uids += 1;
                        json!(format!("uid-{}", s.uids))
                    }
                };
            }
            s.commit(ns, key, old, Some(obj)).expect("a stored object")
        })
    }

    /// Deletes an object as another client would.
    pub fn remove(&self, ns: &str, name: &str) {
        self.with(|s| {
            let key = (ns.to_string(), name.to_string());
            let old = s.objects.get(&key).cloned();
            if old.is_some() {
                s.commit(ns.to_string(), key, old, None);
            }
        })
    }

    async fn handle(&self, req: http::Request<Body>) -> http::Response<FakeBody> {
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        let (parts, body) = req.into_parts();
        let body: Value = serde_json::from_slice(&body.collect_bytes().await.unwrap_or_default())
            .unwrap_or(Value::Null);
        let path = parts.uri.path().to_string();
        let query = parts.uri.query().unwrap_or_default().to_string();
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let (ns, resource, name) = match segments.as_slice() {
            ["api", "v1", "namespaces", ns, resource] => (*ns, *resource, None),
            ["api", "v1", "namespaces", ns, resource, name] => (*ns, *resource, Some(*name)),
            _ => return status(404, "NotFound", "no such path in the fake"),
        };
        let verb = match (parts.method.as_str(), name) {
            ("GET", None) if query_param(&query, "watch").as_deref() == Some("true") => "watch",
            ("GET", None) => "list",
            ("GET", Some(_)) => "get",
            ("POST", None) => "create",
            ("PUT", Some(_)) => "update",
            ("PATCH", Some(_)) => "patch",
            ("DELETE", Some(_)) => "delete",
            _ => return status(405, "MethodNotAllowed", "not in the fake"),
        };
        self.with(|s| {
            s.seen.push(Seen {
                verb: verb.into(),
                resource: resource.into(),
                namespace: ns.into(),
                name: name.map(str::to_string),
                query: query.clone(),
            });
            if let Some((n, code)) = s.faults.get_mut(verb) {
                if *n > 0 {
                    *n -= 1;
                    return Some(status(*code, "InternalError", "injected failure"));
                }
            }
            if resource != "secrets" {
                return Some(status(404, "NotFound", "only Secrets in the fake"));
            }
            None
        })
        .unwrap_or_else(|| self.serve(verb, ns, name, &query, body))
    }

    fn serve(
        &self,
        verb: &str,
        ns: &str,
        name: Option<&str>,
        query: &str,
        body: Value,
    ) -> http::Response<FakeBody> {
        let selector = query_param(query, "labelSelector").unwrap_or_default();
        self.with(|s| {
            let key = (ns.to_string(), name.unwrap_or_default().to_string());
            match verb {
                "list" => {
                    let items: Vec<Value> = s
                        .objects
                        .iter()
                        .filter(|((n, _), o)| n == ns && matches(&selector, o))
                        .map(|(_, o)| o.clone())
                        .collect();
                    reply(
                        200,
                        &json!({"kind": "SecretList", "apiVersion": "v1",
                                "metadata": {"resourceVersion": s.rv.to_string()},
                                "items": items}),
                    )
                }
                "watch" => {
                    let from: u64 = query_param(query, "resourceVersion")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    let (tx, rx) = mpsc::unbounded_channel();
                    for c in s.log.iter().filter(|c| c.rv > from && c.ns == ns) {
                        if let Some(e) = event(&selector, c) {
                            let _ = tx.send(line(&e));
                        }
                    }
                    s.watches.push(Watch {
                        ns: ns.into(),
                        selector,
                        tx,
                    });
                    http::Response::builder()
                        .status(200)
                        .header("content-type", "application/json")
                        .body(FakeBody(rx))
                        .unwrap()
                }
                "get" => match s.objects.get(&key) {
                    Some(o) => reply(200, o),
                    None => status(404, "NotFound", "secrets not found"),
                },
                "create" => {
                    let name = body["metadata"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    let key = (ns.to_string(), name);
                    if s.objects.contains_key(&key) {
                        return status(409, "AlreadyExists", "secrets already exists");
                    }
                    let mut obj = body;
                    s.uids += 1;
                    obj["metadata"]["uid"] = json!(format!("uid-{}", s.uids));
                    obj["metadata"]["creationTimestamp"] = json!("2026-11-27T18:00:00Z");
                    let stored = s.commit(ns.to_string(), key, None, Some(obj));
                    reply(201, &stored.unwrap())
                }
                "update" => {
                    let Some(old) = s.objects.get(&key).cloned() else {
                        return status(404, "NotFound", "secrets not found");
                    };
                    let mut obj = body;
                    let rv = obj["metadata"]["resourceVersion"].clone();
                    if rv != old["metadata"]["resourceVersion"] {
                        return status(409, "Conflict", "the object has been modified");
                    }
                    let uid = &obj["metadata"]["uid"];
                    if !uid.is_null() && *uid != old["metadata"]["uid"] {
                        return status(409, "Conflict", "Precondition failed: UID");
                    }
                    if old["immutable"] == json!(true) && (obj["data"] != old["data"]) {
                        return status(
                            422,
                            "Invalid",
                            "field is immutable when `immutable` is set",
                        );
                    }
                    obj["metadata"]["uid"] = old["metadata"]["uid"].clone();
                    obj["metadata"]["creationTimestamp"] =
                        old["metadata"]["creationTimestamp"].clone();
                    let stored = s.commit(ns.to_string(), key, Some(old), Some(obj));
                    reply(200, &stored.unwrap())
                }
                "delete" => {
                    let Some(old) = s.objects.get(&key).cloned() else {
                        return status(404, "NotFound", "secrets not found");
                    };
                    let pre = &body["preconditions"];
                    let uid_ok = pre["uid"].is_null() || pre["uid"] == old["metadata"]["uid"];
                    let rv_ok = pre["resourceVersion"].is_null()
                        || pre["resourceVersion"] == old["metadata"]["resourceVersion"];
                    if !(uid_ok && rv_ok) {
                        return status(409, "Conflict", "Precondition failed");
                    }
                    s.commit(ns.to_string(), key, Some(old), None);
                    reply(
                        200,
                        &json!({"kind": "Status", "apiVersion": "v1", "status": "Success",
                                "code": 200}),
                    )
                }
                _ => status(405, "MethodNotAllowed", "not in the fake"),
            }
        })
    }
}

impl State {
    /// Stores a change with the next resourceVersion and tells the open watches.
    fn commit(
        &mut self,
        ns: String,
        key: (String, String),
        old: Option<Value>,
        new: Option<Value>,
    ) -> Option<Value> {
        self.rv += 1;
        let new = new.map(|mut o| {
            o["metadata"]["resourceVersion"] = json!(self.rv.to_string());
            o["kind"] = json!("Secret");
            o["apiVersion"] = json!("v1");
            o
        });
        match &new {
            Some(o) => self.objects.insert(key, o.clone()),
            None => self.objects.remove(&key),
        };
        let change = Change {
            rv: self.rv,
            ns,
            old,
            new: new.clone(),
        };
        self.watches.retain(|w| {
            if w.ns != change.ns {
                return !w.tx.is_closed();
            }
            match event(&w.selector, &change) {
                Some(e) => w.tx.send(line(&e)).is_ok(),
                None => !w.tx.is_closed(),
            }
        });
        self.log.push(change);
        new
    }
}
