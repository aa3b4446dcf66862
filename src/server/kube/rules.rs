//! The API server's own validation rules that the OpenAPI schemas do not express: name and
//! label syntax, Secret keys and size, env var names, and uniqueness of volumes, mounts and
//! variables. Run on built objects before anything is sent.

use super::{manifests::Objects, project_objects::ProjectObjects};
use crate::model::rules as names;
use k8s_openapi::{
    api::core::v1::{Pod, Secret, Service},
    apimachinery::pkg::apis::meta::v1::ObjectMeta,
};
use std::collections::{BTreeMap, BTreeSet};

/// The most a Secret's data may hold (the API server's `MaxSecretSize`).
pub const MAX_SECRET_SIZE: usize = 1024 * 1024;

fn ok(rule: fn(&str) -> Result<(), crate::model::RuleError>, s: &str) -> bool {
    rule(s).is_ok()
}

fn check_labels(what: &str, labels: Option<&BTreeMap<String, String>>, out: &mut Vec<String>) {
    for (k, v) in labels.into_iter().flatten() {
        if !ok(names::label_key, k) {
            out.push(format!("{what}: label key {k:?} is invalid"));
        }
        if !ok(names::label_value, v) {
            out.push(format!("{what}: value of label {k} is invalid ({v:?})"));
        }
    }
}

fn check_meta(
    kind: &str,
    meta: &ObjectMeta,
    name_rule: fn(&str) -> Result<(), crate::model::RuleError>,
    rule: &str,
    out: &mut Vec<String>,
) {
    let name = meta.name.as_deref().unwrap_or_default();
    if !ok(name_rule, name) {
        out.push(format!("{kind} name {name:?} is not a {rule}"));
    }
    if let Some(ns) = &meta.namespace {
        if !ok(names::dns1123_label, ns) {
            out.push(format!("{kind} namespace {ns:?} is not a DNS-1123 label"));
        }
    }
    check_labels(kind, meta.labels.as_ref(), out);
    for o in meta.owner_references.iter().flatten() {
        if o.api_version.is_empty() || o.kind.is_empty() || o.name.is_empty() || o.uid.is_empty() {
            out.push(format!(
                "{kind}: owner reference lacks apiVersion, kind, name or uid"
            ));
        }
    }
}

pub fn check_secret(secret: &Secret, out: &mut Vec<String>) {
    check_meta(
        "Secret",
        &secret.metadata,
        names::dns1123_subdomain,
        "DNS-1123 subdomain",
        out,
    );
    let mut size = 0;
    for (k, v) in secret.data.iter().flatten() {
        if !ok(names::secret_key, k) {
            out.push(format!("Secret key {k:?} is invalid"));
        }
        size += v.0.len();
    }
    if size > MAX_SECRET_SIZE {
        out.push(format!(
            "Secret data is {size} bytes; at most {MAX_SECRET_SIZE} are allowed"
        ));
    }
}

fn check_unique<'a>(what: &str, items: impl IntoIterator<Item = &'a str>, out: &mut Vec<String>) {
    let mut seen = BTreeSet::new();
    for i in items {
        if !seen.insert(i) {
            out.push(format!("{what} {i:?} appears more than once"));
        }
    }
}

/// A volume item path: relative, and no `..` component.
fn is_item_path(p: &str) -> bool {
    !p.is_empty() && !p.starts_with('/') && p.split('/').all(|c| c != "..")
}

pub fn check_pod(pod: &Pod, out: &mut Vec<String>) {
    check_meta(
        "Pod",
        &pod.metadata,
        names::dns1123_subdomain,
        "DNS-1123 subdomain",
        out,
    );
    let Some(spec) = &pod.spec else {
        out.push("Pod has no spec".into());
        return;
    };
    let volumes = spec.volumes.as_deref().unwrap_or_default();
    check_unique("volume name", volumes.iter().map(|v| v.name.as_str()), out);
    for v in volumes {
        if !ok(names::dns1123_label, &v.name) {
            out.push(format!("volume name {:?} is not a DNS-1123 label", v.name));
        }
        let Some(s) = &v.secret else { continue };
        if let Some(name) = &s.secret_name {
            if !ok(names::dns1123_subdomain, name) {
                out.push(format!(
                    "volume {}: Secret name {name:?} is invalid",
                    v.name
                ));
            }
        }
        for item in s.items.iter().flatten() {
            if !ok(names::secret_key, &item.key) {
                out.push(format!("volume {}: key {:?} is invalid", v.name, item.key));
            }
            if !is_item_path(&item.path) {
                out.push(format!(
                    "volume {}: path {:?} must be relative without '..'",
                    v.name, item.path
                ));
            }
        }
    }
    check_unique(
        "container name",
        spec.containers.iter().map(|c| c.name.as_str()),
        out,
    );
    for c in &spec.containers {
        if !ok(names::dns1123_label, &c.name) {
            out.push(format!(
                "container name {:?} is not a DNS-1123 label",
                c.name
            ));
        }
        let env = c.env.as_deref().unwrap_or_default();
        check_unique("env var", env.iter().map(|e| e.name.as_str()), out);
        for e in env {
            if let Err(m) = names::api_env_var_name(&e.name) {
                out.push(format!("env var name {:?} {m}", e.name));
            }
            if let Some(r) = e
                .value_from
                .as_ref()
                .and_then(|f| f.secret_key_ref.as_ref())
            {
                if !ok(names::dns1123_subdomain, &r.name) || !ok(names::secret_key, &r.key) {
                    out.push(format!("env var {}: secret reference is invalid", e.name));
                }
            }
        }
        let mounts = c.volume_mounts.as_deref().unwrap_or_default();
        check_unique(
            "mount path",
            mounts.iter().map(|m| m.mount_path.as_str()),
            out,
        );
        for m in mounts {
            if !volumes.iter().any(|v| v.name == m.name) {
                out.push(format!("mount of unknown volume {:?}", m.name));
            }
        }
    }
}

pub fn check_service(service: &Service, out: &mut Vec<String>) {
    check_meta(
        "Service",
        &service.metadata,
        names::dns1035_label,
        "DNS-1035 label",
        out,
    );
    if let Some(spec) = &service.spec {
        check_labels("Service selector", spec.selector.as_ref(), out);
    }
}

/// Every broken rule in what a project namespace holds for Lockbox; empty when the API server
/// would accept it.
pub fn check_project(objects: &ProjectObjects) -> Vec<String> {
    let mut out = Vec::new();
    let ns = &objects.namespace.metadata;
    check_meta(
        "Namespace",
        ns,
        names::dns1123_label,
        "DNS-1123 label",
        &mut out,
    );
    for (k, _) in ns.annotations.iter().flatten() {
        if !ok(names::label_key, k) {
            out.push(format!("Namespace: annotation key {k:?} is invalid"));
        }
    }
    let metas = [
        ("LimitRange", &objects.limit_range.metadata),
        ("ResourceQuota", &objects.resource_quota.metadata),
        ("NetworkPolicy", &objects.network_policy.metadata),
        ("RoleBinding", &objects.role_binding.metadata),
    ];
    for (kind, meta) in metas {
        check_meta(
            kind,
            meta,
            names::dns1123_subdomain,
            "DNS-1123 subdomain",
            &mut out,
        );
    }
    out
}

/// Every broken rule in a launch's objects; empty when the API server would accept them.
pub fn check(objects: &Objects) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(s) = &objects.secret {
        check_secret(s, &mut out);
    }
    check_pod(&objects.pod, &mut out);
    if let Some(s) = &objects.service {
        check_service(s, &mut out);
    }
    out
}

#[cfg(test)]
mod tests;
