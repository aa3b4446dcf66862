//! `NAME=SECRET:<secret>,<key>` references: the one judgement of whether a session may take a
//! key from a Secret, whichever backend holds the Secrets (Kubernetes Secrets in the project's
//! namespace, or the namespace secrets Lockbox keeps on the embedded default). Both ask these
//! functions, so the rules and the messages are the same.
//!
//! Never one of Lockbox's own session Secrets: those are refused by name before anything is
//! looked up (so the answer says nothing about whether such a Secret exists), and by what the
//! store says of the Secret once read (a Secret someone named otherwise). The rest must exist
//! and hold the key. Pure: the backends fetch, these functions judge.

use super::{
    extra_env::{EnvSource, ExtraEnv},
    Code, FieldError, RuleError,
};

/// The form field references are typed in.
pub const FIELD: &str = "extra_env";

/// The name prefix of Lockbox's per-session objects (Pod, Secret, Service): `lockbox-s-`
/// followed by the session id.
pub const SESSION_PREFIX: &str = "lockbox-s-";

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
            RuleError::new(
                Code::ReferenceRefused,
                format!(
                    "{}=SECRET:{},{}: {why}",
                    self.variable, self.secret, self.key
                ),
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

/// Whether `name` is (or could be) one of Lockbox's session objects, judged by name alone.
pub fn is_session_object_name(name: &str) -> bool {
    name.starts_with(SESSION_PREFIX)
}

const SESSION_SECRET: &str =
    "that is a Lockbox session Secret; sessions cannot take values from one another.";

/// References to session Secrets, judged by name alone (no lookup is needed or made).
pub fn refuse_by_name(extra: &[ExtraEnv]) -> Vec<FieldError> {
    of(extra)
        .into_iter()
        .filter(|r| is_session_object_name(r.secret))
        .map(|r| r.refuse(SESSION_SECRET))
        .collect()
}

/// What a store knows of a Secret it found under a reference's name (never its values).
pub trait SecretFacts {
    fn has_key(&self, key: &str) -> bool;
    /// Whether it is one of Lockbox's own session Secrets (by its labels, say).
    fn is_session_secret(&self) -> bool;
}

/// Judges one reference against what was found in `namespace` under its name (`None` when
/// there is no such Secret).
pub fn judge<S: SecretFacts + ?Sized>(
    r: &Reference<'_>,
    namespace: &str,
    found: Option<&S>,
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

/// Judges every reference of a launch: first by name (when any is refused so, nothing is
/// looked up and only those are reported), then each against what `lookup` finds under its
/// Secret's name. Every failure is reported, in the order typed.
pub fn judge_all<'s, S, F>(extra: &[ExtraEnv], namespace: &str, mut lookup: F) -> Vec<FieldError>
where
    S: SecretFacts + ?Sized + 's,
    F: FnMut(&str) -> Option<&'s S>,
{
    let refused = refuse_by_name(extra);
    if !refused.is_empty() {
        return refused;
    }
    of(extra)
        .iter()
        .filter_map(|r| judge(r, namespace, lookup(r.secret)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::extra_env;

    /// A Secret as a test store holds it.
    struct Fake {
        session: bool,
        keys: &'static [&'static str],
    }

    impl SecretFacts for Fake {
        fn has_key(&self, key: &str) -> bool {
            self.keys.contains(&key)
        }
        fn is_session_secret(&self) -> bool {
            self.session
        }
    }

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
    fn judging() {
        let r = Reference {
            variable: "DB",
            secret: "team-creds",
            key: "token",
        };
        let good = Fake {
            session: false,
            keys: &["token"],
        };
        assert_eq!(judge(&r, "ns", Some(&good)), None);
        let session = Fake {
            session: true,
            keys: &["token"],
        };
        assert_eq!(
            judge(&r, "ns", Some(&session)).unwrap().message,
            "DB=SECRET:team-creds,token: that is a Lockbox session Secret; sessions cannot \
             take values from one another."
        );
        let keyless = Fake {
            session: false,
            keys: &["other"],
        };
        assert_eq!(
            judge(&r, "ns", Some(&keyless)).unwrap().message,
            "DB=SECRET:team-creds,token: the Secret team-creds has no key token."
        );
        let missing = judge::<Fake>(&r, "ns", None).unwrap();
        assert_eq!(missing.field, FIELD);
        assert_eq!(
            missing.message,
            "DB=SECRET:team-creds,token: there is no Secret team-creds in the namespace ns."
        );
    }

    #[test]
    fn judging_a_whole_launch() {
        let creds = Fake {
            session: false,
            keys: &["user", "password"],
        };
        let store = |name: &str| (name == "creds").then_some(&creds);
        let extra = extra_env::parse(
            "A=SECRET:creds,user\nB=plain\nC=SECRET:creds,nope\nD=SECRET:gone,k\nE=SECRET:creds,password",
        )
        .unwrap();
        let errors = judge_all(&extra, "lockbox-ml", store);
        let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "C=SECRET:creds,nope: the Secret creds has no key nope.",
                "D=SECRET:gone,k: there is no Secret gone in the namespace lockbox-ml.",
            ]
        );
        // A session Secret's name stops the judgement before any lookup.
        let extra = extra_env::parse("A=SECRET:gone,k\nB=SECRET:lockbox-s-1,k").unwrap();
        let mut looked_up = 0;
        let errors = judge_all(&extra, "ns", |_| {
            looked_up += 1;
            None::<&Fake>
        });
        assert_eq!(looked_up, 0);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].message.contains("session Secret"));
        assert!(judge_all(&[], "ns", |_| None::<&Fake>).is_empty());
    }
}
