//! `NAME=SECRET:<secret>,<key>` references on Kubernetes: what is read of a referenced Secret.
//! The judgement (session Secrets refused by name and by label, the rest must exist and hold
//! the key) is `model::references`, shared with the embedded default's namespace secrets.

use super::manifests::LABEL_SESSION;
use crate::model::references::SecretFacts;
pub use crate::model::references::{judge, of, refuse_by_name, Reference, FIELD};
use serde::{de::IgnoredAny, Deserialize};
use std::collections::BTreeMap;

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

impl SecretFacts for SecretShape {
    fn has_key(&self, key: &str) -> bool {
        self.data.as_ref().is_some_and(|d| d.contains_key(key))
    }

    fn is_session_secret(&self) -> bool {
        self.metadata
            .labels
            .as_ref()
            .is_some_and(|l| l.contains_key(LABEL_SESSION))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
        let missing = judge::<SecretShape>(&r, "ns", None).unwrap();
        assert_eq!(missing.field, FIELD);
        assert!(missing
            .message
            .contains("no Secret team-creds in the namespace ns"));
    }
}
