//! `NAME=SECRET:<secret>,<key>` references: which Secrets a session may take a key from.
//! Never one of Lockbox's own session Secrets: those are refused by name before any API
//! request (so the answer says nothing about whether such a Secret exists), and by their
//! `lockbox.dev/session` label once read (a Secret someone named otherwise). The rest must
//! exist and hold the key. Pure: the backend fetches, these functions judge.

use super::manifests::{is_session_object_name, LABEL_SESSION};
use crate::model::{
    extra_env::{EnvSource, ExtraEnv},
    FieldError,
};
use serde::{de::IgnoredAny, Deserialize};
use std::collections::BTreeMap;

/// The form field references are typed in.
pub const FIELD: &str = "extra_env";

/// One reference of a launch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reference<'a> {
    pub variable: &'a str,
    pub secret: &'a str,
    pub key: &'a str,
}

impl Reference<'_> {
    fn refuse(&self, why: &str) -> FieldError {
        FieldError::new(
            FIELD,
            format!(
                "{}=SECRET:{},{}: {why}",
                self.variable, self.secret, self.key
            ),
        )
    }
}

/// The launch's references, in the order typed.
pub fn of(extra: &[ExtraEnv]) -> Vec<Reference<'_>> {
    extra
        .iter()
        .filter_map(|e| match &e.source {
            EnvSource::SecretRef { secret, key } => Some(Reference {
                variable: &e.name,
                secret,
                key,
            }),
            EnvSource::Literal(_) => None,
        })
        .collect()
}

const SESSION_SECRET: &str =
    "that is a Lockbox session Secret; sessions cannot take values from one another.";

/// References to session Secrets, judged by name alone (no request is needed or made).
pub fn refuse_by_name(extra: &[ExtraEnv]) -> Vec<FieldError> {
    of(extra)
        .into_iter()
        .filter(|r| is_session_object_name(r.secret))
        .map(|r| r.refuse(SESSION_SECRET))
        .collect()
}

/// What a launch needs to know of a referenced Secret: its labels and its key names. Values are
/// skipped while parsing (never copied into this value).
#[derive(Debug, Default, Deserialize)]
pub struct SecretShape {
    #[serde(default)]
    metadata: ShapeMeta,
    #[serde(default)]
    data: Option<BTreeMap<String, IgnoredAny>>,
}

#[derive(Debug, Default, Deserialize)]
struct ShapeMeta {
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
}

impl SecretShape {
    /// Reads the labels and key names of a Secret's JSON, skipping every value.
    pub fn parse(json: &[u8]) -> Result<Self, String> {
        // serde_json's error text may quote input near the error: never passed on.
        serde_json::from_slice(json).map_err(|_| "the Secret could not be decoded".to_string())
    }

    pub fn has_key(&self, key: &str) -> bool {
        self.data.as_ref().is_some_and(|d| d.contains_key(key))
    }

    pub fn is_session_secret(&self) -> bool {
        self.metadata
            .labels
            .as_ref()
            .is_some_and(|l| l.contains_key(LABEL_SESSION))
    }

    #[cfg(test)]
    pub fn for_test(labels: &[(&str, &str)], keys: &[&str]) -> Self {
        let labels = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Self {
            metadata: ShapeMeta {
                labels: Some(labels),
            },
            data: Some(keys.iter().map(|k| (k.to_string(), IgnoredAny)).collect()),
        }
    }
}

/// Judges one reference against what was read: `None` when the Secret does not exist.
pub fn judge(
    r: &Reference<'_>,
    namespace: &str,
    found: Option<&SecretShape>,
) -> Option<FieldError> {
    match found {
        None => Some(r.refuse(&format!(
            "there is no Secret {} in the namespace {namespace}.",
            r.secret
        ))),
        Some(s) if s.is_session_secret() => Some(r.refuse(SESSION_SECRET)),
        Some(s) if !s.has_key(r.key) => {
            Some(r.refuse(&format!("the Secret {} has no key {}.", r.secret, r.key)))
        }
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::extra_env;

    #[test]
    fn session_secrets_are_refused_by_name() {
        let extra = extra_env::parse(
            "A=SECRET:lockbox-s-0b6f3c1e8d2a4f5b9c7d1e2f3a4b5c6d,env.DB_PASSWORD\n\
             B=SECRET:team-creds,token\nC=SECRET:lockbox-s-x,k\nD=plain",
        )
        .unwrap();
        let refused = refuse_by_name(&extra);
        assert_eq!(refused.len(), 2);
        assert!(refused[0].message.starts_with("A=SECRET:lockbox-s-0b6f"));
        assert!(refused[1].message.starts_with("C=SECRET:lockbox-s-x,k"));
        assert!(refused.iter().all(|f| f.field == FIELD));
        // Not a prefix match on look-alikes.
        let extra =
            extra_env::parse("A=SECRET:lockbox-sessions,k\nB=SECRET:my-lockbox-s-x,k").unwrap();
        assert!(refuse_by_name(&extra).is_empty());
    }

    #[test]
    fn parsing_keeps_key_names_and_labels_not_values() {
        let json =
            br#"{"kind":"Secret","metadata":{"name":"s","labels":{"lockbox.dev/session":"x"}},
            "data":{"token":"c2VudGluZWwtNDcxMQ==","other":"eA=="},"type":"Opaque"}"#;
        let shape = SecretShape::parse(json).unwrap();
        assert!(shape.has_key("token") && shape.has_key("other") && !shape.has_key("nope"));
        assert!(shape.is_session_secret());
        assert!(!format!("{shape:?}").contains("c2VudGluZWw"));
        let bare = SecretShape::parse(br#"{"metadata":{"name":"s"},"data":null}"#).unwrap();
        assert!(!bare.has_key("token") && !bare.is_session_secret());
        let err = SecretShape::parse(b"{\"data\": {\"k\": c2VudGluZWw").unwrap_err();
        assert!(!err.contains("c2VudGluZWw"));
    }

    #[test]
    fn judging() {
        let r = Reference {
            variable: "DB",
            secret: "team-creds",
            key: "token",
        };
        let good = SecretShape::for_test(&[("app", "db")], &["token"]);
        assert_eq!(judge(&r, "ns", Some(&good)), None);
        let labelled = SecretShape::for_test(&[(LABEL_SESSION, "x")], &["token"]);
        assert!(judge(&r, "ns", Some(&labelled))
            .unwrap()
            .message
            .contains("session Secret"));
        let keyless = SecretShape::for_test(&[], &["other"]);
        assert!(judge(&r, "ns", Some(&keyless))
            .unwrap()
            .message
            .contains("has no key token"));
        let missing = judge(&r, "ns", None).unwrap();
        assert_eq!(missing.field, FIELD);
        assert!(missing
            .message
            .contains("no Secret team-creds in the namespace ns"));
    }
}
