//! Sessions as Kubernetes objects: a Pod, a Secret owned by it, and a Service for its port.
//!
//! Secret values exist here only inside the Secret being created; they are wiped right after
//! the create call, and never appear in errors or logs (the API server's replies to a Secret
//! create echo the data, so that reply is never read on success).

use super::{
    manifests::{self, Objects, CONTAINER},
    observe::observe,
    rules,
};
use crate::server::sessions::{
    backend::{BackendError, Observed, SessionBackend, SessionRef, Started},
    spec::{LaunchSpec, Values},
};
use ::kube::{
    api::{Api, DeleteParams, LogParams, PostParams},
    client::Body,
    core::{Request, Status},
    Client,
};
use k8s_openapi::api::core::v1::{Pod, Secret, Service};

/// Log lines asked for; the reply is then cut to the newest `max_bytes`.
const TAIL_LINES: i64 = 500;
/// Stands in for the Pod's uid while the objects are checked, before the Pod exists.
const PENDING_UID: &str = "pending";

pub struct KubeBackend {
    client: Client,
}

/// Installs rustls' ring provider; kube's client panics without one. Safe to call repeatedly.
pub fn install_crypto_provider() {
    // Err only means a provider is already installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl KubeBackend {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// Connects with the kubeconfig, or the in-cluster service account.
    pub async fn from_config() -> Result<Self, BackendError> {
        install_crypto_provider();
        let client = Client::try_default()
            .await
            .map_err(|e| BackendError::Internal(format!("Kubernetes configuration: {e}")))?;
        Ok(Self::new(client))
    }

    fn api<K>(&self, namespace: &str) -> Api<K>
    where
        K: ::kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        K::DynamicType: Default,
    {
        Api::namespaced(self.client.clone(), namespace)
    }

    /// Sends a request and returns the reply body, or the API's error status.
    async fn send(&self, request: http::Request<Vec<u8>>, read: bool) -> Result<Vec<u8>, Error> {
        let reply = self
            .client
            .send(request.map(Body::from))
            .await
            .map_err(Error::Kube)?;
        let code = reply.status();
        if code.is_success() && !read {
            return Ok(Vec::new());
        }
        let body = reply
            .into_body()
            .collect_bytes()
            .await
            .map_err(Error::Kube)?;
        if code.is_success() {
            return Ok(body.to_vec());
        }
        let text = String::from_utf8_lossy(&body);
        let status = serde_json::from_str::<Status>(&text)
            .unwrap_or_else(|_| Status::failure(text.trim(), "").with_code(code.as_u16()));
        Err(Error::Api(Box::new(status)))
    }

    /// Creates the Secret without reading the reply (which echoes the values).
    async fn create_secret(&self, ns: &str, secret: &Secret) -> Result<(), Error> {
        let body = zeroize::Zeroizing::new(
            serde_json::to_vec(secret).map_err(|_| Error::Other("encoding the Secret".into()))?,
        );
        let request = Request::new(format!("/api/v1/namespaces/{ns}/secrets"))
            .create(&PostParams::default(), body.to_vec())
            .map_err(|e| Error::Other(e.to_string()))?;
        self.send(request, false).await.map(drop)
    }

    async fn delete<K>(&self, ns: &str, name: &str) -> Result<(), Error>
    where
        K: ::kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
        K::DynamicType: Default,
    {
        match self
            .api::<K>(ns)
            .delete(name, &DeleteParams::default())
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => match Error::from(e) {
                Error::Api(s) if s.code == 404 => Ok(()),
                e => Err(e),
            },
        }
    }

    /// Deletes what a failed start created, newest first. Returns what could not be deleted.
    async fn roll_back(&self, ns: &str, name: &str, service: bool, secret: bool) -> Vec<String> {
        let mut failures = Vec::new();
        if service {
            if let Err(e) = self.delete::<Service>(ns, name).await {
                failures.push(format!("deleting the Service: {e}"));
            }
        }
        if secret {
            if let Err(e) = self.delete::<Secret>(ns, name).await {
                failures.push(format!("deleting the Secret: {e}"));
            }
        }
        if let Err(e) = self.delete::<Pod>(ns, name).await {
            failures.push(format!("deleting the Pod: {e}"));
        }
        for f in &failures {
            tracing::warn!(
                namespace = ns,
                object = name,
                "rolling back a failed start: {f}"
            );
        }
        failures
    }

    async fn get_pod(&self, session: &SessionRef) -> Result<Option<Pod>, Error> {
        let name = manifests::object_name(&session.session_id);
        match self.api::<Pod>(&session.namespace).get(&name).await {
            Ok(pod) => Ok(Some(pod)),
            Err(e) => match Error::from(e) {
                Error::Api(s) if s.code == 404 => Ok(None),
                e => Err(e),
            },
        }
    }
}

/// A Kubernetes failure, described without request bodies (and so without values).
#[derive(Debug)]
enum Error {
    Api(Box<Status>),
    Kube(::kube::Error),
    Other(String),
}

impl From<::kube::Error> for Error {
    fn from(e: ::kube::Error) -> Self {
        match e {
            ::kube::Error::Api(s) => Self::Api(s),
            e => Self::Kube(e),
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Api(s) => {
                let reason = if s.reason.is_empty() {
                    "Error"
                } else {
                    &s.reason
                };
                write!(f, "{} ({reason}, HTTP {})", s.message, s.code)
            }
            // A reply that cannot be decoded is described without quoting it.
            Self::Kube(::kube::Error::SerdeError(_)) => {
                f.write_str("the API server's reply could not be decoded")
            }
            Self::Kube(e) => write!(f, "{e}"),
            Self::Other(m) => f.write_str(m),
        }
    }
}

impl Error {
    /// A refusal of the request itself (4xx) is the launch's fault; the rest is ours.
    fn into_backend(self, step: &str) -> BackendError {
        let message = format!("{step} failed: {self}");
        match self {
            Self::Api(s) if (400..500).contains(&s.code) => BackendError::Rejected(message),
            _ => BackendError::Internal(message),
        }
    }
}

/// Holds the Secret being created and wipes its values however the start ends.
struct Wiped(Option<Secret>);

impl Drop for Wiped {
    fn drop(&mut self) {
        if let Some(s) = &mut self.0 {
            manifests::wipe(s);
        }
    }
}

fn with_cleanup(error: BackendError, failures: Vec<String>) -> BackendError {
    if failures.is_empty() {
        return error;
    }
    let extra = format!("; cleaning up also failed: {}", failures.join("; "));
    match error {
        BackendError::Rejected(m) => BackendError::Rejected(m + &extra),
        BackendError::Internal(m) => BackendError::Internal(m + &extra),
    }
}

/// The newest at most `max` bytes of `text`, cut at a character boundary.
fn newest(text: &str, max: usize) -> &str {
    let mut start = text.len().saturating_sub(max);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

#[async_trait::async_trait]
impl SessionBackend for KubeBackend {
    fn name(&self) -> &'static str {
        "kubernetes"
    }

    async fn start(&self, spec: &LaunchSpec, values: Values) -> Result<Started, BackendError> {
        let ns = spec.namespace.as_str();
        let name = manifests::object_name(&spec.session_id);
        // Built before anything is created so the whole set can be checked first.
        let secret =
            manifests::secret(spec, values, PENDING_UID).map_err(BackendError::Internal)?;
        let objects = Objects {
            secret,
            pod: manifests::pod(spec),
            service: manifests::service(spec),
        };
        let violations = rules::check(&objects);
        let Objects {
            secret,
            pod,
            service,
        } = objects;
        let mut secret = Wiped(secret);
        if !violations.is_empty() {
            return Err(BackendError::Rejected(format!(
                "Kubernetes would refuse this session: {}",
                violations.join("; ")
            )));
        }

        let created = self
            .api::<Pod>(ns)
            .create(&PostParams::default(), &pod)
            .await
            .map_err(|e| Error::from(e).into_backend("creating the Pod"))?;
        let Some(uid) = created.metadata.uid else {
            let error = BackendError::Internal("the created Pod has no uid".into());
            return Err(with_cleanup(
                error,
                self.roll_back(ns, &name, false, false).await,
            ));
        };

        let has_secret = secret.0.is_some();
        if let Some(s) = &mut secret.0 {
            s.metadata.owner_references = Some(vec![manifests::owned_by_pod(&name, &uid)]);
            let result = self.create_secret(ns, s).await;
            drop(secret);
            if let Err(e) = result {
                let error = e.into_backend("creating the Secret");
                return Err(with_cleanup(
                    error,
                    self.roll_back(ns, &name, false, false).await,
                ));
            }
        }

        let url = match (&service, spec.environment.port) {
            (Some(svc), Some(port)) => {
                if let Err(e) = self
                    .api::<Service>(ns)
                    .create(&PostParams::default(), svc)
                    .await
                {
                    let error = Error::from(e).into_backend("creating the Service");
                    let failures = self.roll_back(ns, &name, false, has_secret).await;
                    return Err(with_cleanup(error, failures));
                }
                Some(format!("http://{name}.{ns}.svc:{port}"))
            }
            _ => None,
        };
        tracing::info!(namespace = ns, pod = %name, "session started");
        Ok(Started { url })
    }

    async fn stop(&self, session: &SessionRef) -> Result<(), BackendError> {
        let (ns, name) = (
            &session.namespace,
            manifests::object_name(&session.session_id),
        );
        // Each is tried even when an earlier one fails, so as much as possible is removed.
        let results = [
            ("Pod", self.delete::<Pod>(ns, &name).await),
            ("Service", self.delete::<Service>(ns, &name).await),
            ("Secret", self.delete::<Secret>(ns, &name).await),
        ];
        let failures: Vec<String> = results
            .into_iter()
            .filter_map(|(kind, r)| r.err().map(|e| format!("deleting the {kind} failed: {e}")))
            .collect();
        if failures.is_empty() {
            Ok(())
        } else {
            Err(BackendError::Internal(failures.join("; ")))
        }
    }

    async fn status(&self, session: &SessionRef) -> Result<Observed, BackendError> {
        match self.get_pod(session).await {
            Ok(Some(pod)) => Ok(observe(&pod)),
            Ok(None) => Ok(Observed::Exited("pod no longer exists".into())),
            Err(e) => Err(e.into_backend("reading the Pod")),
        }
    }

    async fn logs(&self, session: &SessionRef, max_bytes: usize) -> Result<String, BackendError> {
        let name = manifests::object_name(&session.session_id);
        let params = LogParams {
            container: Some(CONTAINER.into()),
            tail_lines: Some(TAIL_LINES),
            // A bound on what the server sends; the newest `max_bytes` are kept below.
            limit_bytes: Some(i64::try_from(max_bytes.saturating_mul(4)).unwrap_or(i64::MAX)),
            ..Default::default()
        };
        let request = Request::new(format!("/api/v1/namespaces/{}/pods", session.namespace))
            .logs(&name, &params)
            .map_err(|e| BackendError::Internal(e.to_string()))?;
        match self.send(request, true).await {
            // Logs may be cut inside a character: decode leniently.
            Ok(body) => Ok(newest(&String::from_utf8_lossy(&body), max_bytes).to_string()),
            Err(Error::Api(s)) if s.code == 404 => Ok(String::new()),
            Err(Error::Api(s)) if s.code == 400 && s.message.contains("waiting to start") => {
                Ok(String::new())
            }
            Err(e) => Err(e.into_backend("reading the logs")),
        }
    }

    async fn reap(&self, live: &[SessionRef]) -> Result<Vec<String>, BackendError> {
        let mut gone = Vec::new();
        for session in live {
            let pod = self
                .get_pod(session)
                .await
                .map_err(|e| e.into_backend("reading the Pod"))?;
            let phase = pod.as_ref().and_then(|p| p.status.as_ref()?.phase.clone());
            match (pod, phase.as_deref()) {
                (None, _) => gone.push(session.session_id.clone()),
                // Ended while no one watched: nothing will stop it later, so remove it now.
                (Some(_), Some("Succeeded" | "Failed")) => {
                    if let Err(e) = self.stop(session).await {
                        tracing::warn!(session = %session.session_id, "reaping: {e}");
                    }
                    gone.push(session.session_id.clone());
                }
                _ => {}
            }
        }
        Ok(gone)
    }
}
