//! The API server's own validation rules that the OpenAPI schemas do not express: name and
//! label syntax, Secret keys and size, env var names, and uniqueness of volumes, mounts and
//! variables. Run on built objects before anything is sent.

use super::manifests::Objects;
use k8s_openapi::{
    api::core::v1::{Pod, Secret, Service},
    apimachinery::pkg::apis::meta::v1::ObjectMeta,
};
use std::collections::{BTreeMap, BTreeSet};

/// The most a Secret's data may hold (the API server's `MaxSecretSize`).
pub const MAX_SECRET_SIZE: usize = 1024 * 1024;
const MAX_LABEL: usize = 63;
const MAX_SUBDOMAIN: usize = 253;

fn label_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
}

/// DNS-1123 label: `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63 characters.
pub fn is_dns1123_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_LABEL
        && s.chars().all(label_char)
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// DNS-1123 subdomain: dot-separated parts shaped like labels, at most 253 characters in all
/// (the API server does not limit each part to 63).
pub fn is_dns1123_subdomain(s: &str) -> bool {
    let part = |p: &str| {
        !p.is_empty() && p.chars().all(label_char) && !p.starts_with('-') && !p.ends_with('-')
    };
    !s.is_empty() && s.len() <= MAX_SUBDOMAIN && s.split('.').all(part)
}

/// DNS-1035 label (Service names): a DNS-1123 label starting with a letter.
pub fn is_dns1035_label(s: &str) -> bool {
    is_dns1123_label(s) && s.starts_with(|c: char| c.is_ascii_lowercase())
}

/// A qualified name part: `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`, at most 63 characters.
fn is_qualified_part(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_LABEL
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// A label key: an optional DNS-subdomain prefix and `/`, then a qualified name part.
pub fn is_label_key(s: &str) -> bool {
    match s.split_once('/') {
        Some((prefix, name)) => is_dns1123_subdomain(prefix) && is_qualified_part(name),
        None => is_qualified_part(s),
    }
}

/// A label value: empty, or a qualified name part.
pub fn is_label_value(s: &str) -> bool {
    s.is_empty() || is_qualified_part(s)
}

/// A Secret data key: `[-._a-zA-Z0-9]+`, at most 253 characters, not `.`, not starting `..`.
pub fn is_secret_key(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_SUBDOMAIN
        && s != "."
        && !s.starts_with("..")
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn check_labels(what: &str, labels: Option<&BTreeMap<String, String>>, out: &mut Vec<String>) {
    for (k, v) in labels.into_iter().flatten() {
        if !is_label_key(k) {
            out.push(format!("{what}: label key {k:?} is invalid"));
        }
        if !is_label_value(v) {
            out.push(format!("{what}: value of label {k} is invalid ({v:?})"));
        }
    }
}

fn check_meta(
    kind: &str,
    meta: &ObjectMeta,
    name_ok: fn(&str) -> bool,
    rule: &str,
    out: &mut Vec<String>,
) {
    let name = meta.name.as_deref().unwrap_or_default();
    if !name_ok(name) {
        out.push(format!("{kind} name {name:?} is not a {rule}"));
    }
    if let Some(ns) = &meta.namespace {
        if !is_dns1123_label(ns) {
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
        is_dns1123_subdomain,
        "DNS-1123 subdomain",
        out,
    );
    let mut size = 0;
    for (k, v) in secret.data.iter().flatten() {
        if !is_secret_key(k) {
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
        is_dns1123_subdomain,
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
        if !is_dns1123_label(&v.name) {
            out.push(format!("volume name {:?} is not a DNS-1123 label", v.name));
        }
        let Some(s) = &v.secret else { continue };
        if let Some(name) = &s.secret_name {
            if !is_dns1123_subdomain(name) {
                out.push(format!(
                    "volume {}: Secret name {name:?} is invalid",
                    v.name
                ));
            }
        }
        for item in s.items.iter().flatten() {
            if !is_secret_key(&item.key) {
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
        if !is_dns1123_label(&c.name) {
            out.push(format!(
                "container name {:?} is not a DNS-1123 label",
                c.name
            ));
        }
        let env = c.env.as_deref().unwrap_or_default();
        check_unique("env var", env.iter().map(|e| e.name.as_str()), out);
        for e in env {
            if e.name.is_empty() || e.name.contains('=') {
                out.push(format!(
                    "env var name {:?} must be non-empty without '='",
                    e.name
                ));
            }
            if let Some(r) = e
                .value_from
                .as_ref()
                .and_then(|f| f.secret_key_ref.as_ref())
            {
                if !is_dns1123_subdomain(&r.name) || !is_secret_key(&r.key) {
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
        is_dns1035_label,
        "DNS-1035 label",
        out,
    );
    if let Some(spec) = &service.spec {
        check_labels("Service selector", spec.selector.as_ref(), out);
    }
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
