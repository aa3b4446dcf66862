//! The namespace secrets service: on the embedded default, Lockbox keeps what Kubernetes
//! Secrets are in a project's namespace, so `SECRET:` references resolve without a cluster.
//! Admins set (create or replace whole), remove and list them; values are sealed together as
//! one JSON object with a data key of their own (purpose [`PURPOSE`], belonging to no user) and
//! are never logged, returned or shown again. Launches resolve references against them
//! ([`check_references`]) and decrypt exactly the referenced ones at start
//! ([`decrypt_references`]).

use crate::{
    model::{
        extra_env::ExtraEnv,
        namespace_secrets::{self as rules, NamespaceSecretInfo, Scope},
        references::{self, SecretFacts},
        AppError, Code, FieldError, RuleError, SecretValue,
    },
    server::{
        crypto::{self, DataKey},
        db::{self, audit::AuditEvent, namespace_secrets::Brief, Db},
        error::internal,
        keys::Keyring,
        secrets::Actor,
    },
};
use std::collections::{BTreeMap, BTreeSet};
use zeroize::Zeroizing;

/// The data key's purpose in `wrapped_keys`.
pub const PURPOSE: &str = "namespace-secrets";

/// Who changes namespace secrets, for the audit trail: an admin over the API, or the command
/// line (run by whoever holds the server's database and key).
#[derive(Clone, Copy)]
pub enum By<'a> {
    Admin(&'a Actor),
    CommandLine,
}

/// How the audit trail names the command line (no username can have parentheses).
const COMMAND_LINE: &str = "(command line)";

impl By<'_> {
    fn event<'e>(&'e self, action: &'e str, target: &'e str, detail: &'e str) -> AuditEvent<'e> {
        let mut event = match self {
            By::Admin(actor) => actor.event(action, target),
            By::CommandLine => AuditEvent {
                at: db::now_ms(),
                actor_name: Some(COMMAND_LINE),
                action,
                target: Some(target),
                ..Default::default()
            },
        };
        event.detail = Some(detail);
        event
    }
}

/// The namespace secrets' data key: unwrapped from `wrapped_keys`, or made on first use. Two
/// first uses racing each insert-or-ignore a key, then both read back the one that won.
pub async fn data_key(db: &Db, keyring: &Keyring) -> Result<DataKey, AppError> {
    if let Some(stored) = db::wrapped_keys::get(db, PURPOSE).await? {
        return unwrap_key(keyring, &stored);
    }
    let kek = keyring.active();
    let wrapped = kek.wrap_purpose_key(&DataKey::generate(), PURPOSE);
    db::wrapped_keys::insert_if_absent(db, PURPOSE, &wrapped, kek.id(), db::now_ms()).await?;
    let stored = db::wrapped_keys::get(db, PURPOSE)
        .await?
        .ok_or_else(|| internal("the namespace secrets' data key vanished", PURPOSE))?;
    unwrap_key(keyring, &stored)
}

fn unwrap_key(
    keyring: &Keyring,
    stored: &db::wrapped_keys::WrappedKey,
) -> Result<DataKey, AppError> {
    let kek = keyring.get(&stored.dek_key_id).ok_or_else(|| {
        internal(
            "the namespace secrets' data key is wrapped by a key this server does not hold",
            &stored.dek_key_id,
        )
    })?;
    kek.unwrap_purpose_key(&stored.dek_wrapped, PURPOSE)
        .map_err(|e| internal("cannot unwrap the namespace secrets' data key", e))
}

/// How the audit trail and messages name a secret: `NAME in project P` or `NAME in cluster
/// scope`.
fn describe(scope: &Scope, name: &str) -> String {
    format!("{name} in {scope}")
}

/// The project id of a scope (`None` for cluster scope); an unknown project is an error on the
/// `project` field.
async fn project_id(db: &Db, scope: &Scope) -> Result<Option<String>, AppError> {
    match scope {
        Scope::Cluster => Ok(None),
        Scope::Project(name) => db::projects::get(db, name)
            .await?
            .map(|p| Some(p.id))
            .ok_or_else(|| {
                AppError::field(
                    "project",
                    RuleError::new(
                        Code::Unknown,
                        format!("There is no project named {name:?}."),
                    ),
                )
            }),
    }
}

fn keys_of(json: &str, id: &str) -> Result<Vec<String>, AppError> {
    serde_json::from_str(json)
        .map_err(|e| internal(&format!("namespace secret {id} has unreadable keys"), e))
}

fn info(row: db::namespace_secrets::Row) -> Result<NamespaceSecretInfo, AppError> {
    let keys = keys_of(&row.keys, &row.id)?;
    Ok(NamespaceSecretInfo {
        project: row.project,
        name: row.name,
        keys,
        size: row.data_size,
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
        propagated_from: row.propagated_from,
    })
}

/// Every namespace secret, or those of one scope.
pub async fn list(db: &Db, scope: Option<&Scope>) -> Result<Vec<NamespaceSecretInfo>, AppError> {
    let id = match scope {
        Some(s) => project_id(db, s).await?,
        None => None,
    };
    let filter = match (scope, &id) {
        (None, _) => db::namespace_secrets::Filter::All,
        (Some(Scope::Cluster), _) => db::namespace_secrets::Filter::Cluster,
        (Some(Scope::Project(_)), Some(id)) => db::namespace_secrets::Filter::Project(id),
        (Some(Scope::Project(_)), None) => return Err(internal("a project without an id", "")),
    };
    db::namespace_secrets::list(db, filter)
        .await?
        .into_iter()
        .map(info)
        .collect()
}

/// The JSON object key → value, in a buffer wiped when dropped.
fn plaintext(data: &BTreeMap<String, SecretValue>) -> Result<Zeroizing<Vec<u8>>, AppError> {
    // Sized up front so that growing the buffer leaves no unwiped copy behind (escapes can
    // outgrow it only for values full of control characters).
    let room: usize = data
        .iter()
        .map(|(k, v)| k.len() + v.len() + 8)
        .sum::<usize>()
        + 2;
    let mut out = Zeroizing::new(Vec::with_capacity(room + room / 8));
    let plain: BTreeMap<&str, &str> = data.iter().map(|(k, v)| (k.as_str(), v.expose())).collect();
    serde_json::to_writer(&mut *out, &plain)
        .map_err(|e| internal("cannot encode a namespace secret", e))?;
    Ok(out)
}

/// Creates the secret, or replaces its whole data (keys not given are gone) and bumps its
/// version. Every broken rule is reported at once; no message holds a value.
#[tracing::instrument(name = "set_namespace_secret", skip_all)]
pub async fn set(
    db: &Db,
    keyring: &Keyring,
    max_value_bytes: usize,
    by: By<'_>,
    scope: &Scope,
    name: &str,
    data: BTreeMap<String, SecretValue>,
) -> Result<NamespaceSecretInfo, AppError> {
    let mut errors: Vec<FieldError> = Vec::new();
    if let Err(m) = rules::name(name) {
        errors.push(FieldError::new("name", m));
    }
    errors.extend(rules::data(&data, max_value_bytes));
    let project = project_id(db, scope).await;
    let project = match project {
        Ok(p) if errors.is_empty() => p,
        Ok(_) => return Err(AppError::fields(errors)),
        Err(e) => {
            let mut all = e.field_errors();
            if all.is_empty() {
                return Err(e);
            }
            all.extend(errors);
            return Err(AppError::fields(all));
        }
    };
    let keys: Vec<&str> = data.keys().map(String::as_str).collect();
    let keys_json =
        serde_json::to_string(&keys).map_err(|e| internal("cannot encode key names", e))?;
    let detail = format!("keys: {}", keys.join(", "));
    let size: i64 = data.values().map(|v| v.len() as i64).sum();
    let plain = plaintext(&data)?;
    drop(data);
    let key = data_key(db, keyring).await?;
    let target = describe(scope, name);
    // A create and a delete may race this one: at most a few rounds settle it.
    for _ in 0..3 {
        let now = db::now_ms();
        match db::namespace_secrets::find(db, project.as_deref(), name).await? {
            Some(existing) if existing.propagated_from.is_some() => {
                return Err(AppError::Conflict {
                    field: "name".into(),
                    message: format!(
                        "{target} is a copy of a cluster-scope secret; change that one instead."
                    ),
                })
            }
            Some(existing) => {
                let sealed = key.seal(
                    &plain,
                    &crypto::namespace_secret_aad(project.as_deref(), &existing.id),
                );
                let event = by.event("namespace_secret.replaced", &target, &detail);
                if db::namespace_secrets::replace(
                    db,
                    &existing.id,
                    &keys_json,
                    &sealed,
                    size,
                    now,
                    &event,
                )
                .await?
                {
                    return reply(db, &existing.id).await;
                }
            }
            None => {
                let id = uuid::Uuid::new_v4().to_string();
                let sealed = key.seal(
                    &plain,
                    &crypto::namespace_secret_aad(project.as_deref(), &id),
                );
                let event = by.event("namespace_secret.created", &target, &detail);
                let new = db::namespace_secrets::NewSecret {
                    id: &id,
                    project_id: project.as_deref(),
                    name,
                    keys: &keys_json,
                    data_sealed: &sealed,
                    data_size: size,
                    now,
                };
                if db::namespace_secrets::insert(db, &new, &event).await? {
                    return reply(db, &id).await;
                }
            }
        }
    }
    Err(AppError::Conflict {
        field: "name".into(),
        message: format!("{target} was being changed at the same time; try again."),
    })
}

async fn reply(db: &Db, id: &str) -> Result<NamespaceSecretInfo, AppError> {
    let row = db::namespace_secrets::get(db, id)
        .await?
        .ok_or_else(|| AppError::Conflict {
            field: "name".into(),
            message: "The secret was deleted right after it was set.".into(),
        })?;
    info(row)
}

/// Removes a secret (never a propagated copy: that follows its source).
#[tracing::instrument(name = "delete_namespace_secret", skip_all)]
pub async fn delete(db: &Db, by: By<'_>, scope: &Scope, name: &str) -> Result<(), AppError> {
    let project = project_id(db, scope).await?;
    let target = describe(scope, name);
    let event = by.event("namespace_secret.deleted", &target, "");
    if db::namespace_secrets::delete(db, project.as_deref(), name, &event).await? {
        return Ok(());
    }
    match db::namespace_secrets::find(db, project.as_deref(), name).await? {
        Some(e) if e.propagated_from.is_some() => Err(AppError::Conflict {
            field: "name".into(),
            message: format!(
                "{target} is a copy of a cluster-scope secret; remove that one instead."
            ),
        }),
        _ => Err(AppError::not_found(format!(
            "There is no namespace secret {target}."
        ))),
    }
}

/// A found secret, as the shared reference judgement sees it: its key names. Namespace secrets
/// carry no labels, and names of session Secrets cannot be set, so none is a session Secret.
struct Facts(BTreeSet<String>);

impl SecretFacts for Facts {
    fn has_key(&self, key: &str) -> bool {
        self.0.contains(key)
    }
    fn is_session_secret(&self) -> bool {
        false
    }
}

/// Which secret each referenced name resolves to in a project: the project's own rows only,
/// as a Pod sees only its namespace's Secrets. Cluster-scope secrets reach a project as copies
/// made by propagation (`propagation::local_store`), exactly as on Kubernetes. The one place
/// resolution is decided.
pub fn resolve(project_id: Option<&str>, found: Vec<Brief>) -> BTreeMap<String, Brief> {
    found
        .into_iter()
        .filter(|b| project_id.is_some() && b.project_id.as_deref() == project_id)
        .map(|b| (b.name.clone(), b))
        .collect()
}

/// The namespace secrets a launch's references resolved to, by name (no value).
#[derive(Debug, Default)]
pub struct Resolved {
    project: String,
    by_name: BTreeMap<String, Brief>,
}

/// One reference as the audit trail records its use.
pub struct Use {
    /// `NAME in project P` or `NAME in cluster scope`.
    pub target: String,
    pub key: String,
    pub variable: String,
}

impl Resolved {
    /// Each reference of `extra`, in the order typed, with what it resolved to.
    pub fn uses(&self, extra: &[ExtraEnv]) -> Vec<Use> {
        references::of(extra)
            .into_iter()
            .filter_map(|r| {
                let b = self.by_name.get(r.secret)?;
                let scope = match b.project_id {
                    Some(_) => Scope::Project(self.project.clone()),
                    None => Scope::Cluster,
                };
                Some(Use {
                    target: describe(&scope, r.secret),
                    key: r.key.to_string(),
                    variable: r.variable.to_string(),
                })
            })
            .collect()
    }
}

/// Checks a launch's `SECRET:` references against the namespace secrets of its project (by
/// name; `namespace` is what messages call it), with the same rules and messages as on
/// Kubernetes. Nothing is decrypted. A refusal is a validation error on `extra_env`.
pub async fn check_references(
    db: &Db,
    project: &str,
    namespace: &str,
    extra: &[ExtraEnv],
) -> Result<Resolved, AppError> {
    let refs = references::of(extra);
    if refs.is_empty() {
        return Ok(Resolved::default());
    }
    let refused = references::refuse_by_name(extra);
    if !refused.is_empty() {
        return Err(AppError::fields(refused));
    }
    let project_id = db::projects::get(db, project).await?.map(|p| p.id);
    let names: BTreeSet<&str> = refs.iter().map(|r| r.secret).collect();
    let names: Vec<&str> = names.into_iter().collect();
    let found = db::namespace_secrets::briefs_named(db, project_id.as_deref(), &names).await?;
    let by_name = resolve(project_id.as_deref(), found);
    let mut facts = BTreeMap::new();
    for (name, brief) in &by_name {
        let keys = keys_of(&brief.keys, &brief.id)?;
        facts.insert(name.clone(), Facts(keys.into_iter().collect()));
    }
    let errors = references::judge_all(extra, namespace, |name| facts.get(name));
    if !errors.is_empty() {
        return Err(AppError::fields(errors));
    }
    Ok(Resolved {
        project: project.to_string(),
        by_name,
    })
}

/// Decrypts exactly the referenced secrets and returns one value per reference of `extra`,
/// in the order typed. A secret changed since the check (a key removed, the secret deleted)
/// is a conflict on `extra_env`.
pub async fn decrypt_references(
    db: &Db,
    keyring: &Keyring,
    extra: &[ExtraEnv],
    resolved: &Resolved,
) -> Result<Vec<SecretValue>, AppError> {
    let refs = references::of(extra);
    if refs.is_empty() {
        return Ok(Vec::new());
    }
    let changed = |what: &str| AppError::Conflict {
        field: references::FIELD.into(),
        message: format!("{what} changed while the session was starting; try again."),
    };
    let ids: BTreeSet<&str> = refs
        .iter()
        .filter_map(|r| resolved.by_name.get(r.secret).map(|b| b.id.as_str()))
        .collect();
    let ids: Vec<&str> = ids.into_iter().collect();
    let sealed = db::namespace_secrets::sealed_by_ids(db, &ids).await?;
    let key = data_key(db, keyring).await?;
    let mut opened: BTreeMap<&str, BTreeMap<String, SecretValue>> = BTreeMap::new();
    for row in &sealed {
        let plain = key
            .open(
                &row.data_sealed,
                &crypto::namespace_secret_aad(row.project_id.as_deref(), &row.id),
            )
            .map_err(|e| internal("cannot decrypt a namespace secret for a launch", e))?;
        // serde_json's error text may quote the input: never passed on.
        let data: BTreeMap<String, SecretValue> = serde_json::from_slice(&plain)
            .map_err(|_| internal("a namespace secret does not decode", &row.id))?;
        opened.insert(row.id.as_str(), data);
    }
    let mut values = Vec::with_capacity(refs.len());
    for r in &refs {
        let value = resolved
            .by_name
            .get(r.secret)
            .and_then(|b| opened.get(b.id.as_str()))
            .ok_or_else(|| changed(r.secret))?
            .get(r.key)
            .ok_or_else(|| changed(r.secret))?;
        values.push(value.clone());
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brief(id: &str, project: Option<&str>, name: &str) -> Brief {
        Brief {
            id: id.into(),
            project_id: project.map(str::to_string),
            name: name.into(),
            keys: "[]".into(),
        }
    }

    fn ids(chosen: &BTreeMap<String, Brief>) -> Vec<(&str, &str)> {
        chosen
            .iter()
            .map(|(n, b)| (n.as_str(), b.id.as_str()))
            .collect()
    }

    #[test]
    fn only_the_projects_own_rows_resolve() {
        // A cluster-scope row reaches a project only as a copy (a row of that project).
        let found = vec![
            brief("c1", None, "creds"),
            brief("p1", Some("ml"), "creds"),
            brief("c2", None, "shared"),
        ];
        assert_eq!(ids(&resolve(Some("ml"), found)), [("creds", "p1")]);
    }

    #[test]
    fn another_projects_secret_is_never_visible() {
        let found = vec![
            brief("o1", Some("other"), "creds"),
            brief("c1", None, "creds"),
        ];
        assert!(resolve(Some("ml"), found.clone()).is_empty());
        // With no project (an unknown one), nothing.
        assert!(resolve(None, found).is_empty());
    }

    #[test]
    fn plaintext_is_one_json_object() {
        let data: BTreeMap<String, SecretValue> = [("b", "two\n\"q\""), ("a", "one")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), SecretValue::new(v.to_string())))
            .collect();
        let plain = plaintext(&data).unwrap();
        assert_eq!(
            std::str::from_utf8(&plain).unwrap(),
            r#"{"a":"one","b":"two\n\"q\""}"#
        );
        let back: BTreeMap<String, SecretValue> = serde_json::from_slice(&plain).unwrap();
        assert_eq!(back["b"].expose(), "two\n\"q\"");
    }
}
